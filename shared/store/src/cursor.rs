//! Opaque pagination cursors bound to the tenant and the query they continue. A cursor holds
//! DynamoDB's last evaluated key, whose sort keys can carry people's names (contacts sort by
//! name), so it is sealed (ChaCha20-Poly1305 under a key derived from the cursor secret): it says
//! nothing to whoever sees a URL, and one from another tenant, another query or edited by hand is
//! refused.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AttributeValue;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not valid")]
    Invalid,
    #[error("the cursor belongs to another query")]
    OtherQuery,
}

#[derive(Clone)]
pub struct CursorSigner {
    key: [u8; 32],
    /// The key before the last rotation: cursors it sealed keep working until it is rotated out.
    previous: Option<[u8; 32]>,
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

/// The sealing key of a secret: a hash, so a secret of any length makes a 256-bit key.
fn derive(secret: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"keel cursor key v2\0");
    hash.update(secret);
    hash.finalize().into()
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 256-bit key"))
}

impl CursorSigner {
    pub fn new(key: &[u8]) -> Self {
        CursorSigner { key: derive(key), previous: None }
    }

    /// Seals with `key`, and still opens what `previous` sealed.
    pub fn with_previous(key: &[u8], previous: Option<&[u8]>) -> Self {
        CursorSigner { key: derive(key), previous: previous.map(derive) }
    }

    /// `binding` names the tenant and the query (filters included) the cursor continues.
    pub fn encode(&self, binding: &str, last_key: &HashMap<String, AttributeValue>) -> String {
        let k = last_key.iter().filter_map(|(name, v)| v.as_s().ok().map(|s| (name.clone(), s.clone()))).collect();
        let mut sealed = serde_json::to_vec(&Payload { q: binding.to_string(), k }).unwrap_or_default();
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system's random source");
        aead(&self.key)
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .expect("a cursor is far below the cipher's limits");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    fn open(key: &[u8; 32], raw: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = raw.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = aead(key).open_in_place(nonce, Aad::empty(), &mut sealed).ok()?;
        Some(plain.to_vec())
    }

    pub fn decode(&self, binding: &str, cursor: &str) -> Result<HashMap<String, AttributeValue>, CursorError> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| CursorError::Invalid)?;
        let plain = Self::open(&self.key, &raw)
            .or_else(|| self.previous.as_ref().and_then(|previous| Self::open(previous, &raw)))
            .ok_or(CursorError::Invalid)?;
        let payload: Payload = serde_json::from_slice(&plain).map_err(|_| CursorError::Invalid)?;
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
        assert!(!String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(&c).unwrap()).contains("LEAD"), "sealed");
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
