//! Built-in KPI-drop alerts. When a window closes (becomes final), each
//! configured KPI of that aggregate is compared with its own trailing
//! baseline (the same agent or channel, the same window size, the preceding
//! `baseline` period): an exact one-sided binomial test of the window's count
//! against the baseline proportion, with a minimum volume in the window and
//! in the baseline, and a minimum effect, so a quiet agent with three contacts
//! pages nobody and the false-alarm rate per window and KPI stays at or below
//! `false_alarm_rate`. Each (aggregate, KPI, window) is judged once.

use super::aggregate::{AggKey, Counts};
use crate::model::proto::KpiAlert;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// A KPI that can drop: successes and trials from the counts, and which way is worse.
#[derive(Debug, Clone, Copy)]
pub struct AlertKpi {
    pub name: &'static str,
    pub label: &'static str,
    pub higher_is_better: bool,
    pub count: fn(&Counts) -> (u64, u64),
}

pub const ALERT_KPIS: [AlertKpi; 7] = [
    AlertKpi {
        name: "empathy_rate",
        label: "Empathy rate",
        higher_is_better: true,
        count: |c| (c.empathy_shown, c.empathy_scored),
    },
    AlertKpi {
        name: "empathy_miss_rate",
        label: "Missed-empathy rate",
        higher_is_better: false,
        count: |c| (c.empathy_missed, c.empathy_opportunity),
    },
    AlertKpi {
        name: "listening_rate",
        label: "Listening rate",
        higher_is_better: true,
        count: |c| (c.listened_fully, c.voice_segments_scored),
    },
    AlertKpi {
        name: "service_level",
        label: "Service level",
        higher_is_better: true,
        count: |c| (c.answered_within_sl, c.offered),
    },
    AlertKpi {
        name: "abandon_rate",
        label: "Abandonment",
        higher_is_better: false,
        count: |c| (c.abandoned, c.offered),
    },
    AlertKpi {
        name: "first_response_sla_rate",
        label: "First responses within SLA",
        higher_is_better: true,
        count: |c| (c.first_response_within_sla, c.first_response_ms_count),
    },
    AlertKpi {
        name: "resolution_rate",
        label: "Resolution rate",
        higher_is_better: true,
        count: |c| (c.resolved, c.handled_final),
    },
];

/// Alerting settings (`[alerts]` in the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub enabled: bool,
    pub kpis: Vec<String>,
    /// Trials needed in the closed window.
    pub min_volume: u64,
    /// Trials needed in the baseline.
    pub min_baseline_volume: u64,
    /// Smallest absolute drop worth an alert (0.10 = ten points).
    pub min_effect: f64,
    /// One-sided significance level: the largest false-alarm probability per window and KPI.
    pub false_alarm_rate: f64,
    /// How much history the baseline covers, in milliseconds.
    pub baseline_ms: i64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            enabled: true,
            kpis: ALERT_KPIS.iter().map(|k| k.name.to_string()).collect(),
            min_volume: 20,
            min_baseline_volume: 100,
            min_effect: 0.10,
            false_alarm_rate: 0.01,
            baseline_ms: 7 * 86_400_000,
        }
    }
}

/// ln(n!) by summation for small n and Stirling's series beyond.
fn ln_factorial(n: u64) -> f64 {
    if n < 256 {
        (2..=n).map(|k| (k as f64).ln()).sum()
    } else {
        let x = n as f64;
        x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
            - 1.0 / (360.0 * x * x * x)
    }
}

fn binomial_pmf(k: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if p >= 1.0 {
        return if k == n { 1.0 } else { 0.0 };
    }
    let ln = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (1.0 - p).ln();
    ln.exp()
}

/// P(X ≤ k) for X ~ Binomial(n, p), exact by summation.
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    (0..=k.min(n))
        .map(|i| binomial_pmf(i, n, p))
        .sum::<f64>()
        .min(1.0)
}

/// The decision for one KPI of one closed window.
#[derive(Debug, Clone, PartialEq)]
pub struct DropTest {
    pub value: f64,
    pub baseline: f64,
    pub z_score: f64,
    pub p_value: f64,
    pub alert: bool,
}

/// Tests `x` of `n` in the window against `x0` of `n0` in the baseline.
pub fn drop_test(
    settings: &AlertSettings,
    higher_is_better: bool,
    x: u64,
    n: u64,
    x0: u64,
    n0: u64,
) -> Option<DropTest> {
    if n == 0 || n0 == 0 {
        return None;
    }
    let value = x as f64 / n as f64;
    let baseline = x0 as f64 / n0 as f64;
    let se = (baseline * (1.0 - baseline) / n as f64).sqrt();
    let z_score = if se > 0.0 {
        (value - baseline) / se
    } else {
        0.0
    };
    // One-sided exact test in the "worse" direction.
    let p_value = if higher_is_better {
        binomial_cdf(x, n, baseline)
    } else if x == 0 {
        1.0
    } else {
        1.0 - binomial_cdf(x - 1, n, baseline)
    };
    let effect = if higher_is_better {
        baseline - value
    } else {
        value - baseline
    };
    let alert = n >= settings.min_volume
        && n0 >= settings.min_baseline_volume
        && effect >= settings.min_effect
        && p_value <= settings.false_alarm_rate;
    Some(DropTest {
        value,
        baseline,
        z_score,
        p_value,
        alert,
    })
}

/// Closed windows of one (level, channel, window size), oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    windows: VecDeque<(i64, Vec<(u64, u64)>)>,
}

/// One alert series: agent (or channel level), channel, window size.
pub type SeriesKey = (Option<String>, crate::model::Channel, usize);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertDetector {
    history: BTreeMap<SeriesKey, History>,
    /// Series changed since the last [`AlertDetector::take_changelog`].
    #[serde(skip)]
    touched: std::collections::BTreeSet<SeriesKey>,
}

/// What the detector needs to know about a closed window.
pub struct ClosedWindow<'a> {
    pub key: &'a AggKey,
    pub window_name: &'a str,
    pub window_start: String,
    pub counts: &'a Counts,
}

impl AlertDetector {
    /// Judges a closed window against its history, then adds it to the history.
    pub fn observe(
        &mut self,
        settings: &AlertSettings,
        closed: &ClosedWindow<'_>,
    ) -> Vec<KpiAlert> {
        let series = (
            closed.key.agent.clone(),
            closed.key.channel,
            closed.key.window,
        );
        self.touched.insert(series.clone());
        let hist = self.history.entry(series).or_default();
        let horizon = closed.key.start_ms - settings.baseline_ms;
        while hist
            .windows
            .front()
            .is_some_and(|(start, _)| *start < horizon)
        {
            hist.windows.pop_front();
        }
        let mut alerts = Vec::new();
        let current: Vec<(u64, u64)> = ALERT_KPIS
            .iter()
            .map(|k| (k.count)(closed.counts))
            .collect();
        if settings.enabled {
            for (i, k) in ALERT_KPIS.iter().enumerate() {
                if !settings.kpis.iter().any(|n| n == k.name) {
                    continue;
                }
                let (x, n) = current[i];
                let (x0, n0) = hist
                    .windows
                    .iter()
                    .filter(|(start, _)| *start < closed.key.start_ms)
                    .fold((0, 0), |(a, b), (_, v)| (a + v[i].0, b + v[i].1));
                let Some(t) = drop_test(settings, k.higher_is_better, x, n, x0, n0) else {
                    continue;
                };
                if !t.alert {
                    continue;
                }
                let who = match &closed.key.agent {
                    Some(a) => format!("agent {a} on {}", closed.key.channel),
                    None => format!("{} (all agents)", closed.key.channel),
                };
                let direction = if k.higher_is_better { "fell" } else { "rose" };
                alerts.push(KpiAlert {
                    level: if closed.key.agent.is_some() { "agent" } else { "channel" }.into(),
                    agent_id: closed.key.agent.clone(),
                    channel: closed.key.channel.as_str().into(),
                    kpi: k.name.into(),
                    window: closed.window_name.into(),
                    window_start: closed.window_start.clone(),
                    value: t.value,
                    baseline: t.baseline,
                    volume: n,
                    z_score: t.z_score,
                    p_value: t.p_value,
                    summary: format!(
                        "{} of {who} {direction} to {:.0}% ({x}/{n}) in the {} window from {}, against {:.0}% over the preceding baseline (p={:.2e})",
                        k.label,
                        t.value * 100.0,
                        closed.window_name,
                        closed.window_start,
                        t.baseline * 100.0,
                        t.p_value
                    ),
                });
            }
        }
        hist.windows.push_back((closed.key.start_ms, current));
        alerts
    }

    pub fn series(&self) -> usize {
        self.history.len()
    }

    /// The series changed since the last call, for the changelog.
    pub fn take_changelog(&mut self) -> Vec<(SeriesKey, Option<History>)> {
        std::mem::take(&mut self.touched)
            .into_iter()
            .map(|k| {
                let h = self.history.get(&k).cloned();
                (k, h)
            })
            .collect()
    }

    pub fn restore_series(&mut self, key: SeriesKey, history: Option<History>) {
        match history {
            Some(h) => {
                self.history.insert(key, h);
            }
            None => {
                self.history.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Channel;
    use rand::{Rng, SeedableRng};

    fn key(start_ms: i64) -> AggKey {
        AggKey {
            agent: Some("a07".into()),
            channel: Channel::Voice,
            window: 0,
            start_ms,
        }
    }

    fn window(shown: u64, scored: u64) -> Counts {
        Counts {
            empathy_shown: shown,
            empathy_scored: scored,
            ..Counts::default()
        }
    }

    fn observe(d: &mut AlertDetector, s: &AlertSettings, i: i64, c: &Counts) -> Vec<KpiAlert> {
        let k = key(i * 3_600_000);
        d.observe(
            s,
            &ClosedWindow {
                key: &k,
                window_name: "1h",
                window_start: format!("w{i}"),
                counts: c,
            },
        )
    }

    #[test]
    fn binomial_cdf_matches_known_values() {
        assert!((binomial_cdf(11, 20, 0.8) - 0.00998179).abs() < 1e-6);
        assert!((binomial_cdf(5, 10, 0.5) - 0.623046875).abs() < 1e-9);
        assert!((binomial_cdf(300, 1000, 0.3) - 0.5155).abs() < 2e-3);
    }

    #[test]
    fn a_planted_25_point_empathy_drop_is_alerted() {
        let s = AlertSettings::default();
        let mut d = AlertDetector::default();
        // Two stable days around 80% (22..26 of 30 an hour), then one hour at 55%.
        for i in 0..48 {
            let shown = 22 + (i as u64 * 7) % 5;
            assert!(
                observe(&mut d, &s, i, &window(shown, 30)).is_empty(),
                "quiet while stable"
            );
        }
        let alerts = observe(&mut d, &s, 48, &window(16, 30));
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!(
            (a.kpi.as_str(), a.level.as_str(), a.agent_id.as_deref()),
            ("empathy_rate", "agent", Some("a07"))
        );
        assert!(a.p_value <= 0.01 && a.baseline > 0.7 && a.value < 0.7);
        assert!(
            a.summary
                .starts_with("Empathy rate of agent a07 on voice fell to"),
            "{}",
            a.summary
        );
    }

    #[test]
    fn a_quiet_agent_with_three_contacts_pages_nobody() {
        let s = AlertSettings::default();
        let mut d = AlertDetector::default();
        for i in 0..48 {
            observe(&mut d, &s, i, &window(24, 30));
        }
        assert!(observe(&mut d, &s, 48, &window(0, 3)).is_empty());
    }

    #[test]
    fn false_alarm_probability_at_minimum_volume_is_at_most_the_configured_rate() {
        let s = AlertSettings::default();
        // Exactly: the probability over every possible count at the minimum volume.
        for p0 in [0.5, 0.7, 0.8, 0.9, 0.95] {
            let n = s.min_volume;
            let rate: f64 = (0..=n)
                .filter(|&x| {
                    drop_test(&s, true, x, n, (p0 * 10_000.0) as u64, 10_000)
                        .unwrap()
                        .alert
                })
                .map(|x| binomial_pmf(x, n, p0))
                .sum();
            assert!(
                rate <= s.false_alarm_rate,
                "p0={p0}: false-alarm probability {rate}"
            );
        }
        // Empirically: a thousand windows of pure noise after a stable history.
        let mut d = AlertDetector::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut raised = 0;
        for i in 0..1168 {
            let shown = (0..s.min_volume)
                .filter(|_| rng.random::<f64>() < 0.8)
                .count() as u64;
            let alerts = observe(&mut d, &s, i, &window(shown, s.min_volume));
            if i >= 168 {
                raised += alerts.len();
            }
        }
        // Expected at most 10 of 1000; allow three standard deviations of sampling noise.
        assert!(raised <= 10 + 9, "{raised} alerts in 1000 noise windows");
    }

    #[test]
    fn rising_abandonment_is_worse() {
        let s = AlertSettings::default();
        let t = drop_test(&s, false, 12, 40, 50, 1000).unwrap();
        assert!(t.alert, "{t:?}");
        assert!(!drop_test(&s, false, 1, 40, 50, 1000).unwrap().alert);
    }
}
