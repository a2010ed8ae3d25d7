//! Stage 2, repeat contacts: per customer (keyed hash), the contact starts and
//! the resolved contacts of the last repeat period. A resolved contact is a
//! repeat when the same customer starts another contact strictly after it
//! ended and at most `repeat_period` later (any channel). Facts may arrive in
//! either order (the new start before the old contact's end is processed), so
//! both sides are kept and matched when the second one arrives.

use super::facts::{ContactRef, CustomerHash, Fact};
use crate::model::{Disposition, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResolvedContact {
    contact: ContactRef,
    repeated: bool,
}

/// One customer's history, as written to the changelog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerHistory {
    starts: Vec<(Timestamp, String)>,
    resolved: Vec<ResolvedContact>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepeatDetector {
    customers: HashMap<CustomerHash, CustomerHistory>,
    /// Customers changed since the last [`RepeatDetector::take_changelog`].
    #[serde(skip)]
    touched: BTreeSet<CustomerHash>,
}

fn is_repeat(ended: Timestamp, start: Timestamp, period: chrono::Duration) -> bool {
    start > ended && start - ended <= period
}

impl RepeatDetector {
    pub fn customers(&self) -> usize {
        self.customers.len()
    }

    /// Observes a fact; appends `Repeated` facts it implies.
    pub fn apply(&mut self, period: chrono::Duration, fact: &Fact, out: &mut Vec<Fact>) {
        match fact {
            Fact::CustomerContactStarted {
                customer,
                contact_id,
                started,
            } => {
                self.touched.insert(customer.clone());
                let h = self.customers.entry(customer.clone()).or_default();
                for r in h.resolved.iter_mut() {
                    if !r.repeated
                        && r.contact.contact_id != *contact_id
                        && is_repeat(r.contact.ended, *started, period)
                    {
                        r.repeated = true;
                        out.push(Fact::Repeated {
                            contact: r.contact.clone(),
                        });
                    }
                }
                h.starts.push((*started, contact_id.clone()));
            }
            Fact::ContactFinished(summary) => {
                let Some(customer) = &summary.customer else {
                    return;
                };
                if summary.abandoned || summary.disposition != Disposition::Resolved {
                    return;
                }
                self.touched.insert(customer.clone());
                let h = self.customers.entry(customer.clone()).or_default();
                let contact = summary.contact_ref();
                let repeated = h.starts.iter().any(|(s, id)| {
                    *id != contact.contact_id && is_repeat(contact.ended, *s, period)
                });
                if repeated {
                    out.push(Fact::Repeated {
                        contact: contact.clone(),
                    });
                }
                h.resolved.push(ResolvedContact { contact, repeated });
            }
            _ => {}
        }
    }

    /// Forgets what can no longer match: starts and resolved contacts older
    /// than `keep` before `now` (event time).
    pub fn expire(&mut self, now: Timestamp, keep: chrono::Duration) {
        let horizon = now - keep;
        let touched = &mut self.touched;
        self.customers.retain(|customer, h| {
            let before = (h.starts.len(), h.resolved.len());
            h.starts.retain(|(s, _)| *s >= horizon);
            h.resolved.retain(|r| r.contact.ended >= horizon);
            if before != (h.starts.len(), h.resolved.len()) {
                touched.insert(customer.clone());
            }
            !(h.starts.is_empty() && h.resolved.is_empty())
        });
    }

    /// The customers changed since the last call with their current history
    /// (`None`: forgotten), for the changelog.
    pub fn take_changelog(&mut self) -> Vec<(CustomerHash, Option<CustomerHistory>)> {
        std::mem::take(&mut self.touched)
            .into_iter()
            .map(|c| {
                let h = self.customers.get(&c).cloned();
                (c, h)
            })
            .collect()
    }

    /// Puts one customer's history back from the changelog (`None` removes it).
    pub fn restore_customer(&mut self, customer: CustomerHash, history: Option<CustomerHistory>) {
        match history {
            Some(h) => {
                self.customers.insert(customer, h);
            }
            None => {
                self.customers.remove(&customer);
            }
        }
    }
}
