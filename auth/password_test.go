package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// ourHash is the shape of every hash Hash writes: Django's argon2 encoding,
// OWASP's costs, a 16-byte salt (22 base64 characters) and a 32-byte key
// (43), without padding.
var ourHash = regexp.MustCompile(`^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashFormatAndRoundTrip(t *testing.T) {
	h := NewHasher(0)
	ctx := t.Context()
	a, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{a, b} {
		if !ourHash.MatchString(enc) {
			t.Errorf("Hash = %q, not in Django's argon2id encoding with OWASP parameters", enc)
		}
	}
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	ok, rehash, err := h.Verify(ctx, a, "correct horse")
	if !ok || rehash || err != nil {
		t.Errorf("Verify(own hash, right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

// TestNoTruncation: bcrypt silently ignores bytes past 72, and a careless
// pre-hash could cut at a NUL or a rune. Here every byte counts.
func TestNoTruncation(t *testing.T) {
	tests := []struct {
		name, password, changed string
	}{
		{
			name:     "128 ASCII characters, last one changed",
			password: strings.Repeat("abcdefgh", 16),
			changed:  strings.Repeat("abcdefgh", 15) + "abcdefgX",
		},
		{
			name:     "64 emoji, last one changed",
			password: strings.Repeat("😀", 64),
			changed:  strings.Repeat("😀", 63) + "😁",
		},
	}
	h := NewHasher(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			enc, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _, err := h.Verify(ctx, enc, tt.password); !ok || err != nil {
				t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			if ok, _, err := h.Verify(ctx, enc, tt.changed); ok || err != nil {
				t.Errorf("Verify(password with its last character changed) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// TestVerifyDjangoHashes checks hashes Django 3.2.25 itself wrote
// (make_password, PBKDF2PasswordHasher.encode, Argon2PasswordHasher.encode
// with its costs overridden, and argon2-cffi 21.1's hash_secret for the
// argon2i form Django used before 3.2), so users migrated from a Django
// database sign in unchanged.
func TestVerifyDjangoHashes(t *testing.T) {
	const password = "lètmein"
	tests := []struct {
		name, encoded string
		needsRehash   bool
	}{
		{"pbkdf2_sha256 at Django 3.2's 260000 iterations (Django's own test vector)",
			"pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=", true},
		{"pbkdf2_sha256, 1000 iterations",
			"pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=", true},
		{"pbkdf2_sha1, 1000 iterations",
			"pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=", true},
		// Django's default costs (m=102400, t=2, p=8) take a second here; a
		// cheap hash with four lanes exercises the same decoding.
		{"argon2id, four lanes, 16-byte key",
			"argon2$argon2id$v=19$m=1024,t=3,p=4$c2Vhc2FsdHNlYXNhbHQ$3sXLG8kMUFOuPFMjKsmYrg", true},
		{"argon2id with OWASP's costs but a 16-byte key",
			"argon2$argon2id$v=19$m=19456,t=2,p=1$c2Vhc2FsdHNlYXNhbHQ$MpKlogmwm+h5VMMlXvVPuw", true},
		{"argon2i, as Django before 3.2 wrote it",
			"argon2$argon2i$v=19$m=512,t=2,p=2$c2Vhc2FsdHNlYXNhbHQ$QallDq/1zpg73Bt1RKe/jA", true},
	}
	h := NewHasher(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			ok, rehash, err := h.Verify(ctx, tt.encoded, password)
			if !ok || rehash != tt.needsRehash || err != nil {
				t.Errorf("Verify(right password) = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.needsRehash)
			}
			ok, rehash, err = h.Verify(ctx, tt.encoded, "letmein")
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyComputedPBKDF2 builds a Django pbkdf2_sha256 encoding from first
// principles (PBKDF2-HMAC-SHA256 of the UTF-8 password and salt, 32 bytes,
// padded standard base64) rather than trusting a pasted vector.
func TestVerifyComputedPBKDF2(t *testing.T) {
	const password, salt, iter = "pässwörd", "Zm9vYmFyc2FsdA", 1000
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	enc := fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt, base64.StdEncoding.EncodeToString(key))
	h := NewHasher(0)
	ok, rehash, err := h.Verify(t.Context(), enc, password)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, true (upgrade to argon2id), nil", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(t.Context(), enc, "passwörd"); ok {
		t.Error("Verify accepted a wrong password")
	}
}

func TestVerifyMalformed(t *testing.T) {
	const (
		salt16 = "c2Vhc2FsdHNlYXNhbHQ"                         // 14 bytes, fine for argon2
		key32  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" // 32 bytes
		pbkKey = "JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A="
	)
	argon := func(variant, version, costs, salt, key string) string {
		return "argon2$" + variant + "$" + version + "$" + costs + "$" + salt + "$" + key
	}
	tests := []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrMalformedHash},
		{"plaintext stored by mistake", "hunter2hunter2", ErrMalformedHash},
		{"unknown algorithm", "sekrit$abc$def", ErrUnsupportedHash},
		{"bcrypt_sha256", "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv", ErrUnsupportedHash},
		{"argon2 without fields", "argon2$", ErrMalformedHash},
		{"argon2 version 16 (no v= field)", "argon2$argon2i$m=512,t=2,p=2$" + salt16 + "$" + key32, ErrUnsupportedHash},
		{"argon2d", argon("argon2d", "v=19", "m=512,t=2,p=2", salt16, key32), ErrUnsupportedHash},
		{"argon2 unknown variant", argon("argon3", "v=19", "m=512,t=2,p=2", salt16, key32), ErrMalformedHash},
		{"argon2 version 20", argon("argon2id", "v=20", "m=512,t=2,p=2", salt16, key32), ErrUnsupportedHash},
		{"argon2 version not a number", argon("argon2id", "v=x", "m=512,t=2,p=2", salt16, key32), ErrMalformedHash},
		{"argon2 costs out of order", argon("argon2id", "v=19", "t=2,m=512,p=2", salt16, key32), ErrMalformedHash},
		{"argon2 costs missing one", argon("argon2id", "v=19", "m=512,t=2", salt16, key32), ErrMalformedHash},
		{"argon2 negative cost", argon("argon2id", "v=19", "m=512,t=-2,p=2", salt16, key32), ErrMalformedHash},
		{"argon2 p=0", argon("argon2id", "v=19", "m=512,t=2,p=0", salt16, key32), ErrMalformedHash},
		{"argon2 p=256", argon("argon2id", "v=19", "m=4096,t=2,p=256", salt16, key32), ErrMalformedHash},
		{"argon2 t=0", argon("argon2id", "v=19", "m=512,t=0,p=1", salt16, key32), ErrMalformedHash},
		{"argon2 t too large", argon("argon2id", "v=19", "m=512,t=17,p=1", salt16, key32), ErrMalformedHash},
		{"argon2 m below 8p", argon("argon2id", "v=19", "m=15,t=2,p=2", salt16, key32), ErrMalformedHash},
		{"argon2 m of 4 GiB", argon("argon2id", "v=19", "m=4194304,t=2,p=1", salt16, key32), ErrMalformedHash},
		{"argon2 salt not base64", argon("argon2id", "v=19", "m=512,t=2,p=1", "!!!!", key32), ErrMalformedHash},
		{"argon2 salt too short", argon("argon2id", "v=19", "m=512,t=2,p=1", "c2Vh", key32), ErrMalformedHash},
		{"argon2 hash not base64", argon("argon2id", "v=19", "m=512,t=2,p=1", salt16, "*"), ErrMalformedHash},
		{"argon2 hash too short", argon("argon2id", "v=19", "m=512,t=2,p=1", salt16, "YWJj"), ErrMalformedHash},
		{"argon2 extra field", argon("argon2id", "v=19", "m=512,t=2,p=1", salt16, key32) + "$x", ErrMalformedHash},
		{"pbkdf2 missing fields", "pbkdf2_sha256$1000$seasalt", ErrMalformedHash},
		{"pbkdf2 iterations not a number", "pbkdf2_sha256$many$seasalt$" + pbkKey, ErrMalformedHash},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$seasalt$" + pbkKey, ErrMalformedHash},
		{"pbkdf2 a billion iterations", "pbkdf2_sha256$1000000000$seasalt$" + pbkKey, ErrMalformedHash},
		{"pbkdf2 empty salt", "pbkdf2_sha256$1000$$" + pbkKey, ErrMalformedHash},
		{"pbkdf2 hash not base64", "pbkdf2_sha256$1000$seasalt$***", ErrMalformedHash},
		{"pbkdf2 hash of the wrong length", "pbkdf2_sha256$1000$seasalt$YWJj", ErrMalformedHash},
		{"pbkdf2_sha1 with a sha256-sized hash", "pbkdf2_sha1$1000$seasalt$" + pbkKey, ErrMalformedHash},
	}
	h := NewHasher(0)
	var computed atomic.Int32
	h.inSlot = func() { computed.Add(1) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const password = "p@ssw0rd-guess"
			computed.Store(0)
			ok, rehash, err := h.Verify(t.Context(), tt.encoded, password)
			// One hash, the dummy's: never one at the costs the encoding
			// names (a billion iterations, 4 GiB), and never none, which
			// would answer sooner than for an account with a password.
			if n := computed.Load(); n != 1 {
				t.Errorf("Verify hashed %d times; want 1 (the dummy hash)", n)
			}
			if ok || rehash {
				t.Errorf("Verify = %v, %v; want false, false", ok, rehash)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v; want one wrapping %v", err, tt.want)
			}
			msg := err.Error()
			if tt.encoded != "" && strings.Contains(msg, tt.encoded) {
				t.Errorf("error %q repeats the stored encoding", msg)
			}
			if strings.Contains(msg, password) || strings.Contains(msg, "hunter2") || strings.Contains(msg, "sekrit") {
				t.Errorf("error %q repeats a secret", msg)
			}
		})
	}
}

func TestUnusablePassword(t *testing.T) {
	shape := regexp.MustCompile(`^![A-Za-z0-9]{40}$`)
	a, b := UnusablePassword(), UnusablePassword()
	if !shape.MatchString(a) {
		t.Errorf("UnusablePassword() = %q; want ! and 40 letters or digits, as Django's make_password(None)", a)
	}
	if a == b {
		t.Error("two unusable passwords are equal")
	}
	tests := []struct {
		encoded string
		usable  bool
	}{
		{a, false},
		{"!", false}, // Django's UNUSABLE_PASSWORD_PREFIX alone
		{"!3t9IENzEq7QT2lgzVtjjlR2lkfI6EWh3mSuz57C2", false}, // from Django 3.2's make_password(None)
		{"pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=", true},
		{"", true}, // as Django's is_password_usable; Verify refuses it as malformed
	}
	h := NewHasher(0)
	var computed atomic.Int32
	h.inSlot = func() { computed.Add(1) }
	for _, tt := range tests {
		if got := IsUsable(tt.encoded); got != tt.usable {
			t.Errorf("IsUsable(%q) = %v; want %v", tt.encoded, got, tt.usable)
		}
		if tt.usable {
			continue
		}
		// An unusable password never verifies, not even against the
		// random tail itself, and that is not an error; each check still
		// costs one hash, as a check against a real one does.
		for _, pw := range []string{"", tt.encoded, tt.encoded[1:]} {
			computed.Store(0)
			if ok, rehash, err := h.Verify(t.Context(), tt.encoded, pw); ok || rehash || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want false, false, nil", tt.encoded, pw, ok, rehash, err)
			}
			if n := computed.Load(); n != 1 {
				t.Errorf("Verify(%q, %q) hashed %d times; want 1", tt.encoded, pw, n)
			}
		}
	}
	// A check that cannot start (the caller gave up) says so.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := h.Verify(ctx, UnusablePassword(), "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(unusable, cancelled ctx) = %v; want context.Canceled", err)
	}
}

// TestVerifyDummyCostsAVerify: the dummy must cost what a real hash with the
// current parameters costs, so it must take a slot and carry those
// parameters, and no password may match it.
func TestVerifyDummyCostsAVerify(t *testing.T) {
	h := NewHasher(0)
	var slots atomic.Int32
	h.inSlot = func() { slots.Add(1) }
	if err := h.VerifyDummy(t.Context(), "anything"); err != nil {
		t.Fatalf("VerifyDummy = %v", err)
	}
	if n := slots.Load(); n != 1 {
		t.Errorf("VerifyDummy hashed %d times; want 1", n)
	}
	if !ourHash.MatchString(h.dummy) {
		t.Errorf("dummy hash %q does not have the current parameters", h.dummy)
	}
	if other := NewHasher(0); other.dummy == h.dummy {
		t.Error("two Hashers share a dummy hash")
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.VerifyDummy(ctx, "anything"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy(cancelled ctx) = %v; want context.Canceled", err)
	}
}

func TestNewHasherDefaultsToGOMAXPROCS(t *testing.T) {
	tests := []struct{ in, want int }{
		{0, runtime.GOMAXPROCS(0)},
		{-3, runtime.GOMAXPROCS(0)},
		{5, 5},
	}
	for _, tt := range tests {
		if got := cap(NewHasher(tt.in).slots); got != tt.want {
			t.Errorf("NewHasher(%d) allows %d at once; want %d", tt.in, got, tt.want)
		}
	}
}

// TestHashingIsBounded starts 8 hashes with room for 2 and checks, once
// every goroutine is blocked, that exactly 2 are inside; then lets them all
// through and checks none ever overlapped a third.
func TestHashingIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, calls = 2, 8
		h := NewHasher(limit)
		release := make(chan struct{})
		var inside, most, entered atomic.Int32
		h.inSlot = func() {
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			entered.Add(1)
			<-release
			inside.Add(-1)
		}
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for i := range calls {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = h.Hash(t.Context(), "pw")
				} else {
					_, _, err = h.Verify(t.Context(), h.dummy, "pw")
				}
				errs <- err
			})
		}
		synctest.Wait() // every goroutine is now blocked: in a slot or queued
		if got := entered.Load(); got != limit {
			t.Fatalf("%d calls hashing at once; want %d", got, limit)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if got := entered.Load(); got != calls {
			t.Errorf("%d calls hashed; want %d", got, calls)
		}
		if got := most.Load(); got > limit {
			t.Errorf("up to %d calls hashed at once; want at most %d", got, limit)
		}
	})
}

// TestWaitHonoursContext: a call queued behind a full Hasher gives up when
// its context does, reports the wait, and never hashes.
func TestWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(1)
		var waits []time.Duration
		var mu sync.Mutex
		h.OnWait = func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
		}
		release := make(chan struct{})
		var hashed atomic.Int32
		h.inSlot = func() {
			hashed.Add(1)
			<-release
		}
		done := make(chan error)
		go func() {
			_, err := h.Hash(t.Context(), "holder")
			done <- err
		}()
		synctest.Wait() // the holder has the only slot

		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		_, err := h.Hash(ctx, "queued")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Hash behind a full Hasher = %v; want context.DeadlineExceeded", err)
		}
		_, _, err = h.Verify(ctx, h.dummy, "queued")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Verify with an expired context = %v; want context.DeadlineExceeded", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Errorf("holder: %v", err)
		}
		if n := hashed.Load(); n != 1 {
			t.Errorf("%d hashes ran; want only the holder's", n)
		}
		mu.Lock()
		defer mu.Unlock()
		// The holder waited 0; the queued Hash waited its whole 3s budget;
		// the Verify with an already expired context did not queue at all.
		if want := []time.Duration{0, 3 * time.Second}; fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Errorf("OnWait saw %v; want %v", waits, want)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(0)
	ctx := b.Context()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(0)
	ctx := b.Context()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyLegacyPBKDF2 measures a hash at Django 3.2's 260000
// iterations: what a not-yet-upgraded user costs.
func BenchmarkVerifyLegacyPBKDF2(b *testing.B) {
	h := NewHasher(0)
	ctx := b.Context()
	const enc = "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo="
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, enc, "lètmein"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestArgon2NeedsRehash: any difference from the current parameters, one
// field at a time, makes an argon2 hash outdated. (Decoding only: no hash
// is computed.)
func TestArgon2NeedsRehash(t *testing.T) {
	cur := owaspArgon2()
	b64 := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }
	enc := func(variant string, m, tc, p, saltLen, keyLen int) string {
		return fmt.Sprintf("argon2$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, m, tc, p, b64(saltLen), b64(keyLen))
	}
	tests := []struct {
		name, encoded string
		want          bool
	}{
		{"current", enc("argon2id", 19456, 2, 1, 16, 32), false},
		{"longer salt is fine", enc("argon2id", 19456, 2, 1, 32, 32), false},
		{"argon2i", enc("argon2i", 19456, 2, 1, 16, 32), true},
		{"other memory", enc("argon2id", 65536, 2, 1, 16, 32), true},
		{"other time", enc("argon2id", 19456, 3, 1, 16, 32), true},
		{"other parallelism", enc("argon2id", 19456, 2, 2, 16, 32), true},
		{"shorter salt", enc("argon2id", 19456, 2, 1, 8, 32), true},
		{"shorter key", enc("argon2id", 19456, 2, 1, 16, 16), true},
		{"longer key", enc("argon2id", 19456, 2, 1, 16, 64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseHash(tt.encoded, cur)
			if err != nil {
				t.Fatal(err)
			}
			if s.outdate != tt.want {
				t.Errorf("needs rehash = %v; want %v", s.outdate, tt.want)
			}
		})
	}
}
