//! Signed links that act for a person without signing in: an unsubscribe link names the company,
//! the lead and the channel, and expires. The key is `keel/<stage>/link` (its own secret: links
//! in sent emails must outlive rotations of other keys, so it is rotated at most once per link
//! lifetime, the previous key still opening links made with it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_core::consent::ConsentChannel;
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::secrets::CachedSecret;
use crate::ApiError;

/// How long an unsubscribe link works: well past the 30 days after sending the law asks of
/// commercial email, since people act on old mail.
pub const UNSUBSCRIBE_DAYS: i64 = 180;
const VERSION: &str = "u1";

/// What an unsubscribe link stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeLink {
    #[serde(rename = "t")]
    pub tenant_id: String,
    #[serde(rename = "l")]
    pub lead_id: String,
    #[serde(rename = "c")]
    pub channel: ConsentChannel,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not a link of ours (altered, truncated, another key's).
    Invalid,
    Expired,
}

/// Where the link key comes from (none configured: links cannot be made or opened).
#[derive(Default)]
pub struct LinkKeys {
    secret: Option<CachedSecret>,
}

impl LinkKeys {
    pub fn new(secret: Option<CachedSecret>) -> LinkKeys {
        LinkKeys { secret }
    }

    pub async fn signer(&self) -> Result<LinkSigner, ApiError> {
        let secret = self.secret.as_ref().ok_or_else(|| ApiError::Internal("no link secret is configured".into()))?;
        let versions = secret.get().await.map_err(ApiError::Unavailable)?;
        let (current, previous) = versions.field("key").map_err(ApiError::Internal)?;
        if current.len() < 32 {
            return Err(ApiError::Internal("the link secret is shorter than 32 characters".into()));
        }
        // A previous version too short to be a key of ours opens nothing.
        let previous = previous.filter(|p| p.len() >= 32);
        Ok(LinkSigner::new(current.as_bytes(), previous.as_deref().map(str::as_bytes)))
    }
}

pub struct LinkSigner {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

impl LinkSigner {
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> LinkSigner {
        LinkSigner {
            current: hmac::Key::new(hmac::HMAC_SHA256, current),
            previous: previous.map(|p| hmac::Key::new(hmac::HMAC_SHA256, p)),
        }
    }

    /// `u1.<payload>.<signature>`, URL-safe.
    pub fn sign(&self, link: &UnsubscribeLink) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(link).expect("a link serializes"));
        let signed = format!("{VERSION}.{payload}");
        let tag = hmac::sign(&self.current, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The link a token stands for, if one of our keys signed it and it has not expired at `now`.
    pub fn open(&self, token: &str, now: i64) -> Result<UnsubscribeLink, LinkError> {
        if token.len() > 1024 {
            return Err(LinkError::Invalid);
        }
        let (signed, tag) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Invalid)?;
        let verified = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| hmac::verify(key, signed.as_bytes(), &tag).is_ok());
        if !verified {
            return Err(LinkError::Invalid);
        }
        let payload = signed.strip_prefix(&format!("{VERSION}.")).ok_or(LinkError::Invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LinkError::Invalid)?;
        let link: UnsubscribeLink = serde_json::from_slice(&bytes).map_err(|_| LinkError::Invalid)?;
        if link.expires <= now {
            return Err(LinkError::Expired);
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> UnsubscribeLink {
        UnsubscribeLink { tenant_id: "T1".into(), lead_id: "L1".into(), channel: ConsentChannel::Email, expires: 1000 }
    }

    #[test]
    fn a_link_opens_with_its_key_or_the_one_after_it_until_it_expires() {
        let old = LinkSigner::new(&[1; 32], None);
        let token = old.sign(&link());
        assert_eq!(old.open(&token, 999), Ok(link()));
        assert_eq!(old.open(&token, 1000), Err(LinkError::Expired));
        let rotated = LinkSigner::new(&[2; 32], Some(&[1; 32]));
        assert_eq!(rotated.open(&token, 10), Ok(link()), "the previous key still opens it");
        let other = LinkSigner::new(&[3; 32], None);
        assert_eq!(other.open(&token, 10), Err(LinkError::Invalid));
    }

    #[test]
    fn an_altered_link_does_not_open() {
        let signer = LinkSigner::new(&[1; 32], None);
        let token = signer.sign(&link());
        let mut forged = link();
        forged.lead_id = "L2".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let (_, tag) = token.rsplit_once('.').unwrap();
        assert_eq!(signer.open(&format!("u1.{forged_payload}.{tag}"), 10), Err(LinkError::Invalid));
        assert_eq!(signer.open("u1.x", 10), Err(LinkError::Invalid));
        assert_eq!(signer.open("", 10), Err(LinkError::Invalid));
    }
}
