package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// tokenBytes is the entropy of a token key: 160 bits, as DRF's
// Token.generate_key (binascii.hexlify(os.urandom(20))).
const tokenBytes = 20

// keyLen is the length of a key in lowercase hex.
const keyLen = 2 * tokenBytes

// NewToken returns a fresh token key for the client and the digest to store.
// The key has DRF's shape (40 lowercase hex characters from 20 random
// bytes), so legacy clients that validate it keep working; only the digest
// is stored, so a leaked users database holds no usable tokens.
//
// crypto/rand has not returned errors since Go 1.24; err stays in the
// signature so callers keep handling the failure of an entropy source.
func NewToken() (key, digest string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	key = hex.EncodeToString(b)
	return key, Digest(key), nil
}

// Digest returns the lowercase hex SHA-256 of the key's text: the form a
// token is stored and looked up in. A plain hash suffices (no salt, no
// stretching) because the key already carries 160 random bits.
func Digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// WellFormedKey reports whether key could be a key NewToken made: exactly 40
// lowercase hex characters. Anything else is answered "Invalid token."
// without asking the store.
func WellFormedKey(key string) bool {
	if len(key) != keyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
