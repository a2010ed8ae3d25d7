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

/// Most contact starts and most resolved contacts kept per customer. A real
/// customer has a handful in a week; a shared or test id with thousands would
/// otherwise make every fact scan them all and its changelog record grow past
/// what a broker accepts. Beyond it the oldest are forgotten (counted).
pub const MAX_HISTORY_PER_CUSTOMER: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepeatDetector {
    customers: HashMap<CustomerHash, CustomerHistory>,
    /// History entries forgotten because a customer had too many.
    #[serde(skip)]
    pub truncated: u64,
    /// Customers changed since the last [`RepeatDetector::take_changelog`].
    #[serde(skip)]
    touched: BTreeSet<CustomerHash>,
    #[serde(skip)]
    tracking: bool,
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
                if self.tracking {
                    self.touched.insert(customer.clone());
                }
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
                if h.starts.len() > MAX_HISTORY_PER_CUSTOMER {
                    let oldest = (0..h.starts.len())
                        .min_by_key(|&i| &h.starts[i])
                        .expect("not empty");
                    h.starts.swap_remove(oldest);
                    self.truncated += 1;
                }
            }
            Fact::ContactFinished(summary) => {
                let Some(customer) = &summary.customer else {
                    return;
                };
                if summary.abandoned || summary.disposition != Disposition::Resolved {
                    return;
                }
                if self.tracking {
                    self.touched.insert(customer.clone());
                }
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
                if h.resolved.len() > MAX_HISTORY_PER_CUSTOMER {
                    let oldest = (0..h.resolved.len())
                        .min_by_key(|&i| {
                            (
                                h.resolved[i].contact.ended,
                                &h.resolved[i].contact.contact_id,
                            )
                        })
                        .expect("not empty");
                    h.resolved.swap_remove(oldest);
                    self.truncated += 1;
                }
            }
            _ => {}
        }
    }

    /// Forgets what can no longer match: starts and resolved contacts older
    /// than `keep` before `now` (event time).
    pub fn expire(&mut self, now: Timestamp, keep: chrono::Duration) {
        let horizon = now - keep;
        let (touched, tracking) = (&mut self.touched, self.tracking);
        self.customers.retain(|customer, h| {
            let before = (h.starts.len(), h.resolved.len());
            h.starts.retain(|(s, _)| *s >= horizon);
            h.resolved.retain(|r| r.contact.ended >= horizon);
            if tracking && before != (h.starts.len(), h.resolved.len()) {
                touched.insert(customer.clone());
            }
            !(h.starts.is_empty() && h.resolved.is_empty())
        });
    }

    /// Starts recording which customers change, for [`RepeatDetector::take_changelog`].
    pub fn track_changes(&mut self) {
        self.tracking = true;
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
