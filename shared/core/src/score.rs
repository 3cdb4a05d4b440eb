//! Lead scoring: how promising a lead looks from what is known about it, 0-100.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Score bands as the sales team reads them (DESIGN §1): 0-30 cold, 31-50 warm, 51-70 hot,
/// 71-100 very hot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreBand {
    Cold,
    Warm,
    Hot,
    VeryHot,
}

impl ScoreBand {
    pub fn of(score: u8) -> Self {
        match score {
            0..=30 => ScoreBand::Cold,
            31..=50 => ScoreBand::Warm,
            51..=70 => ScoreBand::Hot,
            _ => ScoreBand::VeryHot,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScoreBand::Cold => "cold",
            ScoreBand::Warm => "warm",
            ScoreBand::Hot => "hot",
            ScoreBand::VeryHot => "very_hot",
        }
    }
}

/// What the profile score is computed from.
pub struct ScoreInputs<'a> {
    pub has_email: bool,
    pub has_phone: bool,
    pub has_company: bool,
    pub has_job_title: bool,
    pub has_website: bool,
    pub bant_answered: usize,
    pub source: &'a str,
    /// Times the person reached out on their own (a form sent again, a WhatsApp message).
    pub interactions: u32,
}

/// Points per interaction, and the most interactions can add: intent counts, but a person who
/// sends a form ten times is not ten times as likely to buy.
pub const INTERACTION_POINTS: u32 = 5;
pub const INTERACTION_MAX: u32 = 15;

/// Profile score: reachability (20), BANT answers (15 each, 60), firmographics (5 each, 15) and
/// the channel's intent (referrals and partners bring warmer leads than cold channels, up to 5),
/// and the person's own interactions since capture (5 each, up to 15), capped at 100.
pub fn lead_score(i: &ScoreInputs<'_>) -> u8 {
    let mut score = 0u32;
    score += if i.has_email { 10 } else { 0 };
    score += if i.has_phone { 10 } else { 0 };
    score += 15 * i.bant_answered.min(4) as u32;
    score += [i.has_company, i.has_job_title, i.has_website].iter().filter(|b| **b).count() as u32 * 5;
    let source = i.source.to_lowercase();
    score += if ["referral", "partner"].iter().any(|s| source.contains(s)) {
        5
    } else if ["website", "webinar", "event", "demo"].iter().any(|s| source.contains(s)) {
        3
    } else {
        0
    };
    score += (i.interactions * INTERACTION_POINTS).min(INTERACTION_MAX);
    score.min(100) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_design_boundaries() {
        assert_eq!(ScoreBand::of(0), ScoreBand::Cold);
        assert_eq!(ScoreBand::of(30), ScoreBand::Cold);
        assert_eq!(ScoreBand::of(31), ScoreBand::Warm);
        assert_eq!(ScoreBand::of(50), ScoreBand::Warm);
        assert_eq!(ScoreBand::of(51), ScoreBand::Hot);
        assert_eq!(ScoreBand::of(70), ScoreBand::Hot);
        assert_eq!(ScoreBand::of(71), ScoreBand::VeryHot);
        assert_eq!(ScoreBand::of(100), ScoreBand::VeryHot);
    }

    #[test]
    fn a_complete_referred_lead_scores_the_maximum() {
        let full = ScoreInputs {
            has_email: true,
            has_phone: true,
            has_company: true,
            has_job_title: true,
            has_website: true,
            bant_answered: 4,
            source: "Partner referral",
            interactions: 0,
        };
        assert_eq!(lead_score(&full), 100);
        let bare = ScoreInputs {
            has_email: true,
            has_phone: false,
            has_company: false,
            has_job_title: false,
            has_website: false,
            bant_answered: 0,
            source: "Google Ads",
            interactions: 0,
        };
        assert_eq!(lead_score(&bare), 10);
        let engaged = |interactions| lead_score(&ScoreInputs { interactions, ..bare });
        assert_eq!((engaged(1), engaged(3), engaged(9)), (15, 25, 25), "interactions add 5 each, up to 15");
    }
}
