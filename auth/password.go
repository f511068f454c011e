package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"time"
)

// Hasher hashes and verifies passwords with a bound on how many run at once.
// Each argon2id computation takes about 19 MiB and tens of milliseconds of a
// core; without the bound, a burst of sign-ins (or a thousand aliased signIn
// fields) would take every core and a lot of memory, and unrelated requests
// would stall. With it, excess sign-ins queue and give up when their context
// does. A Hasher is safe for concurrent use; build one per process.
type Hasher struct {
	// OnWait, when set, is called by every Hash, Verify and VerifyDummy that
	// queues for a hashing slot, with how long it queued, whether or not it
	// got one (a call whose context has already ended does not queue). It
	// is meant for a metrics histogram and must be fast. Set it before the
	// Hasher is shared.
	OnWait func(time.Duration)

	slots  chan struct{}
	params argon2Params
	// dummy is an encoding with the current parameters that no password
	// matches, for VerifyDummy.
	dummy string
	// inSlot is a test seam: when set, it runs while a slot is held, before
	// the hash is computed.
	inSlot func()
}

// NewHasher returns a Hasher that runs at most maxConcurrent hash
// computations at once; maxConcurrent <= 0 means runtime.GOMAXPROCS(0).
//
// The dummy hash for VerifyDummy is made here rather than lazily: it is a
// random salt and a random key with the current parameters (verifying
// against it costs exactly what verifying a real hash costs, and no password
// can match it), so making it needs no hashing, no context and no sync.Once.
func NewHasher(maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	p := owaspArgon2()
	return &Hasher{
		slots:  make(chan struct{}, maxConcurrent),
		params: p,
		dummy:  encodeArgon2id(p, randomBytes(p.saltLen), randomBytes(int(p.keyLen))),
	}
}

// Hash returns password hashed with argon2id at OWASP's parameters, in
// Django's Argon2PasswordHasher encoding:
//
//	argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with a 16-byte salt and a 32-byte key in standard base64 without padding.
// The password is used whole, whatever its length: nothing is truncated.
// The only error is the context ending while waiting for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.saltLen)
	s := storedHash{alg: "argon2id", argon: h.params, salt: salt}
	var key []byte
	err := h.withSlot(ctx, func() (err error) {
		key, err = s.derive(password)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return encodeArgon2id(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, and whether encoded
// should be replaced by Hash(password) now that the password is known.
//
// It accepts Django's encodings: argon2 (argon2id or argon2i, version 19,
// any costs within bounds; needsRehash unless it is argon2id with the current
// parameters) and pbkdf2_sha256 / pbkdf2_sha1 (needsRehash always, so legacy
// hashes are upgraded on the next successful sign-in). Keys are compared in
// constant time.
//
// An unusable encoding ("!...") never verifies and is not an error. A
// malformed or unsupported encoding gives ok=false and an error wrapping
// ErrMalformedHash or ErrUnsupportedHash that never contains the encoding.
// needsRehash is false whenever ok is.
//
// An encoding that cannot verify still costs what a current hash costs:
// the password is checked against the dummy hash instead (as VerifyDummy),
// never at the costs the encoding names. Answered at once, a sign-in
// would tell apart the accounts that exist but have no password (every
// user created without one) from unknown usernames and from accounts
// with one, by its time alone. Only the context ending makes that check
// an error of its own.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	if !IsUsable(encoded) {
		return false, false, h.VerifyDummy(ctx, password)
	}
	s, err := parseHash(encoded, h.params)
	if err != nil {
		if dummyErr := h.VerifyDummy(ctx, password); dummyErr != nil {
			return false, false, dummyErr
		}
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	var got []byte
	err = h.withSlot(ctx, func() (err error) {
		got, err = s.derive(password)
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if subtle.ConstantTimeCompare(got, s.key) != 1 {
		return false, false, nil
	}
	return true, s.outdate, nil
}

// VerifyDummy spends what a Verify against a current hash spends, and
// matches nothing. Call it when the username is unknown, so that an unknown
// user and a wrong password take about the same time and an attacker cannot
// enumerate accounts by timing. It returns only the context's error, never a
// verdict. (Users still holding a legacy PBKDF2 hash verify at that hash's
// cost until their next sign-in upgrades it.)
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// withSlot runs fn while holding one of the Hasher's slots, waiting for one
// no longer than ctx allows.
func (h *Hasher) withSlot(ctx context.Context, fn func() error) error {
	// Check first: select picks at random among ready cases, and a call
	// whose context has already ended must not start a computation.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wait for a hashing slot: %w", err)
	}
	start := time.Now()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		h.reportWait(time.Since(start))
		return fmt.Errorf("wait for a hashing slot: %w", ctx.Err())
	}
	h.reportWait(time.Since(start))
	defer func() { <-h.slots }()
	if h.inSlot != nil {
		h.inSlot()
	}
	return fn()
}

func (h *Hasher) reportWait(d time.Duration) {
	if h.OnWait != nil {
		h.OnWait(d)
	}
}

// randomBytes returns n bytes from crypto/rand, whose Read never fails
// since Go 1.24 (it crashes the program instead).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
