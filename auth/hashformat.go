package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// This file reads and writes password hashes in Django's encodings, so that
// the users collection stays interchangeable with a Django auth_user table:
// hashes Django wrote verify here, and hashes written here verify in Django.

// Errors from Verify about the stored encoding. Neither ever carries the
// encoding itself: a corrupt field may hold a plaintext password.
var (
	ErrMalformedHash   = errors.New("malformed password hash")
	ErrUnsupportedHash = errors.New("unsupported password hash algorithm")
)

// unusablePrefix marks a password that can never verify, as Django's
// make_password(None) writes it (UNUSABLE_PASSWORD_PREFIX).
const unusablePrefix = "!"

// unusableSuffixLen and unusableAlphabet follow Django's
// UNUSABLE_PASSWORD_SUFFIX_LENGTH and RANDOM_STRING_CHARS.
const (
	unusableSuffixLen = 40
	unusableAlphabet  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// UnusablePassword returns what Django's make_password(None) returns: "!"
// followed by 40 random letters and digits. It marks an account that cannot
// sign in with a password; the random tail keeps two such values distinct.
func UnusablePassword() string {
	var b strings.Builder
	b.Grow(len(unusablePrefix) + unusableSuffixLen)
	b.WriteString(unusablePrefix)
	buf := make([]byte, 64)
	for b.Len() < len(unusablePrefix)+unusableSuffixLen {
		rand.Read(buf) // never fails since Go 1.24
		for _, c := range buf {
			// 248 = 4*62: rejecting the top bytes keeps every character
			// equally likely.
			if c < 248 && b.Len() < len(unusablePrefix)+unusableSuffixLen {
				b.WriteByte(unusableAlphabet[int(c)%len(unusableAlphabet)])
			}
		}
	}
	return b.String()
}

// IsUsable mirrors Django's is_password_usable: only a "!" prefix makes an
// encoding unusable. An empty or garbled encoding is "usable" but fails to
// verify with ErrMalformedHash, as in Django.
func IsUsable(encoded string) bool {
	return !strings.HasPrefix(encoded, unusablePrefix)
}

// argon2Params are the cost parameters of an argon2 hash, as they appear in
// its encoding.
type argon2Params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	saltLen int
	keyLen  uint32
}

// owaspArgon2 returns OWASP's Password Storage Cheat Sheet minimum for
// argon2id (m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte key: about
// 20-50 ms per hash on a server core, which is what a sign-in can afford when
// hashing is bounded to GOMAXPROCS at once. A function, not a var, so that
// nothing can change it.
func owaspArgon2() argon2Params {
	return argon2Params{memory: 19456, time: 2, threads: 1, saltLen: 16, keyLen: 32}
}

// Bounds on what a stored encoding may ask of us. They keep a corrupt or
// planted record from costing gigabytes or minutes per sign-in; Django's own
// defaults (argon2 m=100 MiB, t=2, p=8; PBKDF2 up to 1.2 million iterations
// in Django 6.0) sit well inside them.
const (
	maxArgon2Memory   = 256 * 1024 // KiB
	maxArgon2Time     = 16
	maxPBKDF2Iter     = 10_000_000
	minArgon2SaltLen  = 8 // RFC 9106's minimum
	minArgon2KeyLen   = 4 // RFC 9106's minimum
	maxArgon2FieldLen = 1024
)

// Algorithm names as they start a Django encoding.
const (
	algArgon2       = "argon2"
	algPBKDF2SHA256 = "pbkdf2_sha256"
	algPBKDF2SHA1   = "pbkdf2_sha1"
)

// encodeArgon2id writes Django's Argon2PasswordHasher format: "argon2"
// followed by argon2-cffi's PHC string, whose salt and hash are standard
// base64 without padding.
func encodeArgon2id(p argon2Params, salt, key []byte) string {
	return fmt.Sprintf("%s$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		algArgon2, argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// storedHash is a decoded encoding: enough to recompute the key for a
// candidate password and to tell whether the encoding is out of date.
type storedHash struct {
	alg     string // "argon2id", "argon2i", algPBKDF2SHA256 or algPBKDF2SHA1
	argon   argon2Params
	iter    int
	salt    []byte
	key     []byte
	outdate bool // true when the hash should be replaced after a successful verify
}

// derive computes the key for password with this hash's algorithm, salt and
// parameters. It is the expensive step that Hasher bounds.
func (s storedHash) derive(password string) ([]byte, error) {
	switch s.alg {
	case "argon2id":
		return argon2.IDKey([]byte(password), s.salt, s.argon.time, s.argon.memory, s.argon.threads, s.argon.keyLen), nil
	case "argon2i":
		return argon2.Key([]byte(password), s.salt, s.argon.time, s.argon.memory, s.argon.threads, s.argon.keyLen), nil
	case algPBKDF2SHA256:
		return pbkdf2.Key(sha256.New, password, s.salt, s.iter, len(s.key))
	case algPBKDF2SHA1:
		return pbkdf2.Key(sha1.New, password, s.salt, s.iter, len(s.key))
	}
	return nil, ErrUnsupportedHash
}

// parseHash decodes any encoding Verify accepts, checking every field before
// any expensive work is done. current decides whether an argon2id hash is
// outdated. The caller has already handled unusable ("!") encodings.
func parseHash(encoded string, current argon2Params) (storedHash, error) {
	alg, rest, found := strings.Cut(encoded, "$")
	if !found {
		return storedHash{}, fmt.Errorf("%w: no algorithm prefix", ErrMalformedHash)
	}
	switch alg {
	case algArgon2:
		return parseArgon2(rest, current)
	case algPBKDF2SHA256:
		return parsePBKDF2(alg, rest, sha256.Size)
	case algPBKDF2SHA1:
		return parsePBKDF2(alg, rest, sha1.Size)
	}
	if knownDjangoAlgorithm(alg) {
		return storedHash{}, fmt.Errorf("%w %q", ErrUnsupportedHash, alg)
	}
	// Do not echo an unknown prefix: it may be part of a secret.
	return storedHash{}, ErrUnsupportedHash
}

// knownDjangoAlgorithm reports whether alg names one of Django's other
// hashers, whose name is safe to put in an error.
func knownDjangoAlgorithm(alg string) bool {
	switch alg {
	case "bcrypt_sha256", "bcrypt", "scrypt", "sha1", "md5", "unsalted_sha1", "unsalted_md5", "crypt":
		return true
	}
	return false
}

// parseArgon2 decodes the part after "argon2$":
// "argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>".
func parseArgon2(rest string, current argon2Params) (storedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) == 4 && strings.HasPrefix(parts[1], "m=") {
		// argon2-cffi before 16.0 wrote no version: Argon2 1.0 (v=16),
		// which golang.org/x/crypto/argon2 does not implement.
		return storedHash{}, fmt.Errorf("%w: argon2 version 16", ErrUnsupportedHash)
	}
	if len(parts) != 5 {
		return storedHash{}, fmt.Errorf("%w: argon2 needs 5 fields", ErrMalformedHash)
	}
	s := storedHash{alg: parts[0]}
	switch s.alg {
	case "argon2id", "argon2i":
	case "argon2d":
		return storedHash{}, fmt.Errorf("%w: argon2d", ErrUnsupportedHash)
	default:
		return storedHash{}, fmt.Errorf("%w: unknown argon2 variant", ErrMalformedHash)
	}
	version, ok := strings.CutPrefix(parts[1], "v=")
	if !ok {
		return storedHash{}, fmt.Errorf("%w: argon2 version field", ErrMalformedHash)
	}
	if v, err := strconv.ParseUint(version, 10, 32); err != nil {
		return storedHash{}, fmt.Errorf("%w: argon2 version field", ErrMalformedHash)
	} else if v != argon2.Version {
		return storedHash{}, fmt.Errorf("%w: argon2 version %d", ErrUnsupportedHash, v)
	}
	p, err := parseArgon2Costs(parts[2])
	if err != nil {
		return storedHash{}, err
	}
	if s.salt, err = decodeRawBase64(parts[3]); err != nil || len(s.salt) < minArgon2SaltLen || len(s.salt) > maxArgon2FieldLen {
		return storedHash{}, fmt.Errorf("%w: argon2 salt", ErrMalformedHash)
	}
	if s.key, err = decodeRawBase64(parts[4]); err != nil || len(s.key) < minArgon2KeyLen || len(s.key) > maxArgon2FieldLen {
		return storedHash{}, fmt.Errorf("%w: argon2 hash", ErrMalformedHash)
	}
	p.saltLen, p.keyLen = len(s.salt), uint32(len(s.key))
	s.argon = p
	s.outdate = s.alg != "argon2id" || p.memory != current.memory || p.time != current.time ||
		p.threads != current.threads || p.keyLen != current.keyLen || p.saltLen < current.saltLen
	return s, nil
}

// parseArgon2Costs reads "m=<KiB>,t=<passes>,p=<lanes>" in argon2-cffi's
// order and checks them against RFC 9106 and our bounds.
func parseArgon2Costs(field string) (argon2Params, error) {
	bad := func(what string) (argon2Params, error) {
		return argon2Params{}, fmt.Errorf("%w: argon2 %s", ErrMalformedHash, what)
	}
	costs := strings.Split(field, ",")
	if len(costs) != 3 {
		return bad("cost field")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(costs[i], name)
		if !ok {
			return bad("cost field")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("cost field")
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > 255:
		return bad("parallelism")
	case t < 1 || t > maxArgon2Time:
		return bad("time cost")
	case m < 8*p || m > maxArgon2Memory:
		return bad("memory cost")
	}
	return argon2Params{memory: uint32(m), time: uint32(t), threads: uint8(p)}, nil
}

// decodeRawBase64 decodes standard base64 with or without padding:
// argon2-cffi writes none, but being lenient costs nothing here.
func decodeRawBase64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// parsePBKDF2 decodes the part after "pbkdf2_sha256$" (or "pbkdf2_sha1$"):
// "<iterations>$<salt>$<hash>", where the salt is used as its UTF-8 bytes
// and the hash is padded standard base64 of keyLen bytes, as Django writes it.
func parsePBKDF2(alg, rest string, keyLen int) (storedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return storedHash{}, fmt.Errorf("%w: %s needs 4 fields", ErrMalformedHash, alg)
	}
	iter, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil || iter < 1 || iter > maxPBKDF2Iter {
		return storedHash{}, fmt.Errorf("%w: %s iterations", ErrMalformedHash, alg)
	}
	if parts[1] == "" {
		return storedHash{}, fmt.Errorf("%w: %s salt", ErrMalformedHash, alg)
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != keyLen {
		return storedHash{}, fmt.Errorf("%w: %s hash", ErrMalformedHash, alg)
	}
	// Always outdated: a successful sign-in upgrades it to argon2id.
	return storedHash{alg: alg, iter: int(iter), salt: []byte(parts[1]), key: key, outdate: true}, nil
}
