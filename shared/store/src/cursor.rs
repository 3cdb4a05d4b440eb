//! Opaque, signed pagination cursors bound to the tenant and the query they continue. A cursor
//! from another tenant, another query or edited by hand is refused.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AttributeValue;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not valid")]
    Invalid,
    #[error("the cursor belongs to another query")]
    OtherQuery,
}

#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
    /// The key before the last rotation: cursors it signed keep working until it is rotated out.
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The query's binding: tenant + query description.
    q: String,
    /// DynamoDB's LastEvaluatedKey (all of Keel's key attributes are strings).
    k: BTreeMap<String, String>,
}

impl CursorSigner {
    pub fn new(key: &[u8]) -> Self {
        CursorSigner { key: key.to_vec(), previous: None }
    }

    /// Signs with `key`, and still accepts what `previous` signed.
    pub fn with_previous(key: &[u8], previous: Option<&[u8]>) -> Self {
        CursorSigner { key: key.to_vec(), previous: previous.map(<[u8]>::to_vec) }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    fn verifies(key: &[u8], payload: &[u8], sig: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(payload);
        mac.verify_truncated_left(sig).is_ok()
    }

    /// `binding` names the tenant and the query (filters included) the cursor continues.
    pub fn encode(&self, binding: &str, last_key: &HashMap<String, AttributeValue>) -> String {
        let k = last_key.iter().filter_map(|(name, v)| v.as_s().ok().map(|s| (name.clone(), s.clone()))).collect();
        let payload = serde_json::to_vec(&Payload { q: binding.to_string(), k }).unwrap_or_default();
        let sig = self.mac(&payload);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&sig[..16]))
    }

    pub fn decode(&self, binding: &str, cursor: &str) -> Result<HashMap<String, AttributeValue>, CursorError> {
        let (payload, sig) = cursor.split_once('.').ok_or(CursorError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CursorError::Invalid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| CursorError::Invalid)?;
        let signed = Self::verifies(&self.key, &payload, &sig)
            || self.previous.as_deref().is_some_and(|previous| Self::verifies(previous, &payload, &sig));
        if !signed || sig.len() != 16 {
            return Err(CursorError::Invalid);
        }
        let payload: Payload = serde_json::from_slice(&payload).map_err(|_| CursorError::Invalid)?;
        if payload.q != binding {
            return Err(CursorError::OtherQuery);
        }
        Ok(payload.k.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering_and_rebinding() {
        let signer = CursorSigner::new(b"secret");
        let key = HashMap::from([("pk".to_string(), AttributeValue::S("T#a#LEAD#1".into()))]);
        let c = signer.encode("T#a#|status=new", &key);
        assert_eq!(signer.decode("T#a#|status=new", &c).unwrap(), key);
        assert_eq!(signer.decode("T#b#|status=new", &c), Err(CursorError::OtherQuery));
        let mut tampered = c.clone();
        tampered.replace_range(0..1, if c.starts_with('e') { "f" } else { "e" });
        assert_eq!(signer.decode("T#a#|status=new", &tampered), Err(CursorError::Invalid));
        assert_eq!(CursorSigner::new(b"other").decode("T#a#|status=new", &c), Err(CursorError::Invalid));
        assert_eq!(signer.decode("T#a#|status=new", "garbage"), Err(CursorError::Invalid));
        // After a rotation, cursors signed with the previous key still work; two rotations later not.
        let rotated = CursorSigner::with_previous(b"next", Some(b"secret"));
        assert_eq!(rotated.decode("T#a#|status=new", &c).unwrap(), key);
        assert_ne!(rotated.encode("T#a#|status=new", &key), c, "new cursors use the new key");
        let twice = CursorSigner::with_previous(b"after", Some(b"next"));
        assert_eq!(twice.decode("T#a#|status=new", &c), Err(CursorError::Invalid));
    }
}
