package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Accounts is the logic of signing up, signing in and managing users that
// spans several store calls; resolvers and the token check call it.
type Accounts struct {
	Store  *store.Store
	Hasher *auth.Hasher
	// Tokens is told about revocations so this instance stops accepting a
	// revoked token at once (others within the cache's TTL).
	Tokens *auth.Authenticator
	// AccountThrottle and AddressThrottle limit sign-in attempts per
	// account and per client address; the counts live in the store, shared
	// by every gateway.
	AccountThrottle auth.ThrottlePolicy
	AddressThrottle auth.ThrottlePolicy
	// SignUpsPerHour limits the sign-ups from one client address in an
	// hour, counted in the store as well; 0 does not limit them.
	SignUpsPerHour int
	Logger         *slog.Logger
	Now            func() time.Time
	// OnSignIn, when set, learns every sign-in attempt's outcome (metrics).
	OnSignIn func(outcome string)

	// counting makes this instance count one attempt per key at a time.
	// The store's count is exact across instances on MongoDB; the embedded
	// store does not make a conditional update atomic, and this keeps a
	// single gateway on it exact too.
	counting [64]sync.Mutex
}

// Django's words for a failed sign-in: the same whether the user is
// unknown, inactive, or the password wrong.
const msgBadCredentials = "Unable to log in with provided credentials."

var errBadCredentials = fault.Field(fault.NonField, msgBadCredentials)

// Sign-in outcomes, logged with every attempt (and counted as metrics).
const (
	outcomeOK             = "ok"
	outcomeBadCredentials = "bad_credentials"
	outcomeInactive       = "inactive"
	outcomeThrottled      = "throttled"
)

// SignUp creates an active user with a password and signs them in.
func (a *Accounts) SignUp(ctx context.Context, n store.NewUser, password string) (string, *store.User, error) {
	if err := store.ValidatePassword("password", password); err != nil {
		return "", nil, err
	}
	if err := a.countSignUp(ctx); err != nil {
		return "", nil, err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return "", nil, fmt.Errorf("hash password: %w", err)
	}
	n.PasswordHash = hash
	n.IsActive = true
	n.IsStaff, n.IsSuperuser = false, false
	user, err := a.Store.CreateUser(ctx, n)
	if err != nil {
		return "", nil, err
	}
	key, err := a.issueToken(ctx, user.ID)
	if err != nil {
		return "", nil, err
	}
	a.Logger.InfoContext(ctx, "sign-up", "user_id", user.ID)
	return key, user, nil
}

// SignIn checks a username and password and issues a new token.
func (a *Accounts) SignIn(ctx context.Context, username, password string) (string, *store.User, error) {
	keys := a.throttleKeys(ctx, username)
	if err := a.countSignIn(ctx, keys); err != nil {
		return "", nil, err
	}

	user, hash, err := a.Store.UserCredentials(ctx, username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Spend the time a real check would, so that timing does not tell
		// which usernames exist.
		_ = a.Hasher.VerifyDummy(ctx, password)
		return "", nil, a.failSignIn(ctx, outcomeBadCredentials, 0)
	case err != nil:
		return "", nil, err
	}
	ok, rehash, err := a.Hasher.Verify(ctx, hash, password)
	if err != nil && ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	if !ok {
		return "", nil, a.failSignIn(ctx, outcomeBadCredentials, user.ID)
	}
	if !user.IsActive {
		return "", nil, a.failSignIn(ctx, outcomeInactive, user.ID)
	}

	newHash := ""
	if rehash {
		// An imported Django hash, or older parameters: store argon2id now
		// that the password is known.
		if newHash, err = a.Hasher.Hash(ctx, password); err != nil {
			return "", nil, fmt.Errorf("rehash password: %w", err)
		}
	}
	now := a.now()
	if err := a.Store.RecordSignIn(ctx, user.ID, now, newHash); err != nil {
		return "", nil, err
	}
	user.LastLogin = &now
	key, err := a.issueToken(ctx, user.ID)
	if err != nil {
		return "", nil, err
	}
	// The account's count starts again; the address's keeps this attempt.
	if err := a.Store.ThrottleReset(ctx, keys[0].key); err != nil {
		a.Logger.WarnContext(ctx, "reset sign-in throttle", "err", err)
	}
	a.logSignIn(ctx, outcomeOK, user.ID)
	return key, user, nil
}

// throttleKey is a counter a sign-in attempt is charged to, and its policy.
type throttleKey struct {
	key    string
	policy auth.ThrottlePolicy
}

// throttleKeys names the counters a sign-in attempt is charged to: the
// account (hashed, so any text a client sends makes a short key) and, when
// known, the client address (an IPv6 one by its /64, see auth.AddressKey).
func (a *Accounts) throttleKeys(ctx context.Context, username string) []throttleKey {
	sum := sha256.Sum256([]byte(username))
	keys := []throttleKey{{"account:" + hex.EncodeToString(sum[:16]), a.AccountThrottle}}
	if ip := auth.ClientIPFrom(ctx); ip.IsValid() {
		keys = append(keys, throttleKey{"ip:" + auth.AddressKey(ip), a.AddressThrottle})
	}
	return keys
}

// countSignIn counts the attempt against each of keys (the account's,
// then the address's) before any password is checked, so that a burst of
// attempts made at once is throttled as if they came one by one: an
// attempt goes ahead only if no key is blocked. A key's block is the
// store's to set (ThrottleAttempt), from the policy of that key.
func (a *Accounts) countSignIn(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		until, err := a.countAttempt(ctx, k.key, k.policy.Window, k.policy.BlockFor)
		if err != nil {
			return err
		}
		if !until.IsZero() {
			a.logSignIn(ctx, outcomeThrottled, 0)
			return throttledError(until.Sub(a.now()))
		}
	}
	return nil
}

// signUpWindow is the span SignUpsPerHour counts over.
const signUpWindow = time.Hour

// countSignUp counts a sign-up against the client address (an IPv6 one
// by its /64, see auth.AddressKey) before its password is hashed; the one
// that reaches SignUpsPerHour blocks the address for the window that
// follows.
func (a *Accounts) countSignUp(ctx context.Context) error {
	ip := auth.ClientIPFrom(ctx)
	if a.SignUpsPerHour <= 0 || !ip.IsValid() {
		return nil
	}
	blockFor := func(signUps int) time.Duration {
		if signUps >= a.SignUpsPerHour {
			return signUpWindow
		}
		return 0
	}
	until, err := a.countAttempt(ctx, "signup:"+auth.AddressKey(ip), signUpWindow, blockFor)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		a.Logger.InfoContext(ctx, "sign-up throttled", "client_ip", ip.String())
		return throttledError(until.Sub(a.now()))
	}
	return nil
}

// countAttempt counts one attempt against key in the store, one at a time
// per key on this instance.
func (a *Accounts) countAttempt(ctx context.Context, key string, window time.Duration, blockFor func(int) time.Duration) (time.Time, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	mu := &a.counting[h.Sum32()%uint32(len(a.counting))]
	mu.Lock()
	defer mu.Unlock()
	return a.Store.ThrottleAttempt(ctx, key, window, blockFor)
}

func (a *Accounts) failSignIn(ctx context.Context, outcome string, userID store.ID) error {
	a.logSignIn(ctx, outcome, userID)
	return errBadCredentials
}

// logSignIn records every attempt with its outcome and user id: never the
// password, the token or the username typed.
func (a *Accounts) logSignIn(ctx context.Context, outcome string, userID store.ID) {
	attrs := []any{"outcome", outcome}
	if userID != 0 {
		attrs = append(attrs, "user_id", userID)
	}
	if ip := auth.ClientIPFrom(ctx); ip.IsValid() {
		attrs = append(attrs, "client_ip", ip.String())
	}
	a.Logger.InfoContext(ctx, "sign-in", attrs...)
	if a.OnSignIn != nil {
		a.OnSignIn(outcome)
	}
}

func (a *Accounts) issueToken(ctx context.Context, userID store.ID) (string, error) {
	key, digest, err := auth.NewToken()
	if err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	if _, err := a.Store.CreateToken(ctx, digest, userID); err != nil {
		return "", err
	}
	return key, nil
}

// SignOut revokes the token of the current request.
func (a *Accounts) SignOut(ctx context.Context, caller *auth.Caller) error {
	if err := a.Store.DeleteToken(ctx, caller.TokenDigest); err != nil {
		return err
	}
	a.Tokens.Forget(caller.TokenDigest)
	return nil
}

// Me is the caller's own user: the record the token check read, while the
// caller is cached (so at most --token-cache-ttl old, and dropped at once by
// any change made through this instance), otherwise a fresh read.
func (a *Accounts) Me(ctx context.Context, caller *auth.Caller) (*store.User, error) {
	if u, ok := caller.Record.(*store.User); ok && u != nil {
		return u, nil
	}
	return a.Store.UserByID(ctx, store.ID(caller.UserID))
}

// CallerByToken implements auth.CallerLookup: the token check behind every
// authenticated request (cached by the authenticator).
func (a *Accounts) CallerByToken(ctx context.Context, digest string) (*auth.Caller, error) {
	token, err := a.Store.TokenByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, auth.ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	user, err := a.Store.UserByID(ctx, token.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, auth.ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if !user.IsActive {
		return nil, auth.ErrUserInactive
	}
	if token.Revoked {
		// Revoked when the user was deactivated; reactivation does not
		// bring it back.
		return nil, auth.ErrInvalidToken
	}
	codenames, err := a.Store.EffectivePermissions(ctx, user)
	if err != nil {
		return nil, err
	}
	return &auth.Caller{
		Permissions: auth.NewPermissionSet(codenames...),
		UserID:      int64(user.ID),
		Username:    user.Username,
		IsActive:    user.IsActive,
		IsStaff:     user.IsStaff,
		IsSuperuser: user.IsSuperuser,
		TokenDigest: digest,
		Record:      user,
	}, nil
}

// CreateUser creates a user as a staff caller asks. Without a password the
// user gets an unusable one until one is set.
func (a *Accounts) CreateUser(ctx context.Context, caller *auth.Caller, n store.NewUser, password *string) (*store.User, error) {
	if n.IsSuperuser && !caller.IsSuperuser {
		return nil, forbidden("only a superuser can create a superuser")
	}
	// A new user is active and not staff unless staff say otherwise.
	if err := guardStatus(caller, n.IsStaff, !n.IsActive); err != nil {
		return nil, err
	}
	if password != nil {
		if err := store.ValidatePassword("password", *password); err != nil {
			return nil, err
		}
		hash, err := a.Hasher.Hash(ctx, *password)
		if err != nil {
			return nil, fmt.Errorf("hash password: %w", err)
		}
		n.PasswordHash = hash
	} else {
		n.PasswordHash = auth.UnusablePassword()
	}
	by := store.ID(caller.UserID)
	n.CreatedBy = &by
	return a.Store.CreateUser(ctx, n)
}

// UpdateUser changes a user, and sets their password when one is given.
// Users may change their own profile but not their own privileges; only
// staff make a user staff or not, active or not, or change a staff
// account; only a superuser may grant superuser or change a superuser.
// Everything is checked before the first write, so a request refused for
// any reason changes nothing.
func (a *Accounts) UpdateUser(ctx context.Context, caller *auth.Caller, id store.ID, u store.UserUpdate, password *string) (*store.User, error) {
	privileged := u.IsActive != nil || u.IsStaff != nil || u.IsSuperuser != nil
	if privileged && isSelf(caller, id) && !caller.IsSuperuser {
		return nil, forbidden("users cannot change their own is_active, is_staff or is_superuser")
	}
	if u.IsSuperuser != nil && !caller.IsSuperuser {
		return nil, forbidden("only a superuser can change is_superuser")
	}
	target, err := a.manageable(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	// A flag sent with the value it already has changes nothing, so a
	// client that sends the whole user back is not refused for it.
	changesStaff := u.IsStaff != nil && *u.IsStaff != target.IsStaff
	changesActive := u.IsActive != nil && *u.IsActive != target.IsActive
	if err := guardStatus(caller, changesStaff, changesActive); err != nil {
		return nil, err
	}
	hash := ""
	if password != nil {
		if hash, err = a.passwordChange(ctx, id, *password); err != nil {
			return nil, err
		}
	}
	by := store.ID(caller.UserID)
	u.ModifiedBy = &by
	if hash != "" {
		u.PasswordHash = &hash // one write: the profile and its password land together or not at all
	}
	user, err := a.Store.UpdateUser(ctx, id, u)
	if err != nil {
		return nil, err
	}
	if hash != "" {
		// A new password signs out every session, as setPassword does.
		if err := a.Store.DeleteUserTokens(ctx, id); err != nil {
			return nil, err
		}
	} else if u.IsActive != nil && !*u.IsActive {
		if err := a.Store.RevokeUserTokens(ctx, id); err != nil {
			return nil, err
		}
	}
	// Cached callers carry the user's record (me answers from it): any
	// change drops them, so this instance shows it at once.
	a.Tokens.ForgetUser(int64(id))
	return user, nil
}

// passwordChange checks that the caller may set the user's password as
// setPassword would (the same access rule, run by the same directive) and
// that the password is valid, and answers its hash.
func (a *Accounts) passwordChange(ctx context.Context, id store.ID, password string) (string, error) {
	if _, err := allows(ctx, parsedSchema, a.Store, "Mutation.setPassword", &id); err != nil {
		return "", err
	}
	return a.hashPassword(ctx, "password", password)
}

// Who may manage whom. Staff administer users, as in Django's admin, and
// hand out permissions they do not hold themselves; so making a user
// staff is itself a staff decision, or anyone holding add_user or
// change_user could make a staff account, sign in as it, and grant
// themselves everything. The same goes for a staff account: whoever could
// set its password or change it could act as it. Only superusers touch a
// superuser.

// manageable finds the user id names and checks that the caller may
// change, set the password of, deactivate or delete them.
func (a *Accounts) manageable(ctx context.Context, caller *auth.Caller, id store.ID) (*store.User, error) {
	target, err := a.Store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManage(caller, target); err != nil {
		return nil, err
	}
	return target, nil
}

// mayManage: only a superuser manages a superuser, and only staff (or a
// superuser) a staff account.
func mayManage(caller *auth.Caller, target *store.User) error {
	switch {
	case caller.IsSuperuser:
		return nil
	case target.IsSuperuser:
		return forbidden("only a superuser can change a superuser")
	case target.IsStaff && !caller.IsStaff:
		return forbidden("only staff can change a staff account")
	}
	return nil
}

// guardStatus: only staff (or a superuser) make a user staff or not,
// active or not.
func guardStatus(caller *auth.Caller, changesStaff, changesActive bool) error {
	switch {
	case caller.Staff():
		return nil
	case changesStaff:
		return forbidden("only staff can change is_staff")
	case changesActive:
		return forbidden("only staff can change is_active")
	}
	return nil
}

// DeactivateUser sets is_active false and revokes every token of the user.
func (a *Accounts) DeactivateUser(ctx context.Context, caller *auth.Caller, id store.ID) (*store.User, error) {
	inactive := false
	return a.UpdateUser(ctx, caller, id, store.UserUpdate{IsActive: &inactive}, nil)
}

// DeleteUser removes a user and their tokens.
func (a *Accounts) DeleteUser(ctx context.Context, caller *auth.Caller, id store.ID) error {
	if _, err := a.manageable(ctx, caller, id); err != nil {
		return err
	}
	if err := a.Store.DeleteUser(ctx, id); err != nil {
		return err
	}
	a.Tokens.ForgetUser(int64(id))
	return nil
}

// ChangePassword changes the caller's own password after checking the old
// one, and revokes their other tokens unless asked to keep them.
//
// The old password is a guess at the password as a sign-in's is, by
// whoever holds the token: it is counted against the account's and the
// address's sign-in throttles before it is checked, so a stolen token buys
// no more guesses than signIn gives.
func (a *Accounts) ChangePassword(ctx context.Context, caller *auth.Caller, oldPassword, newPassword string, keepOtherTokens bool) error {
	id := store.ID(caller.UserID)
	keys := a.throttleKeys(ctx, caller.Username)
	if err := a.countSignIn(ctx, keys); err != nil {
		return err
	}
	hash, err := a.Store.PasswordHash(ctx, id)
	if err != nil {
		return err
	}
	ok, _, err := a.Hasher.Verify(ctx, hash, oldPassword)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if !ok {
		return fault.Field("old_password", "Your old password was entered incorrectly. Please enter it again.")
	}
	if err := a.Store.ThrottleReset(ctx, keys[0].key); err != nil {
		a.Logger.WarnContext(ctx, "reset sign-in throttle", "err", err)
	}
	if err := a.setPassword(ctx, id, "new_password", newPassword); err != nil {
		return err
	}
	if keepOtherTokens {
		return nil
	}
	if err := a.Store.DeleteUserTokens(ctx, id, caller.TokenDigest); err != nil {
		return err
	}
	a.Tokens.ForgetUser(int64(id))
	return nil
}

// SetPassword sets a user's password as staff asks, and revokes every
// token the user holds.
func (a *Accounts) SetPassword(ctx context.Context, caller *auth.Caller, id store.ID, password string) error {
	if _, err := a.manageable(ctx, caller, id); err != nil {
		return err
	}
	if err := a.setPassword(ctx, id, "password", password); err != nil {
		return err
	}
	if err := a.Store.DeleteUserTokens(ctx, id); err != nil {
		return err
	}
	a.Tokens.ForgetUser(int64(id))
	return nil
}

func (a *Accounts) setPassword(ctx context.Context, id store.ID, field, password string) error {
	hash, err := a.hashPassword(ctx, field, password)
	if err != nil {
		return err
	}
	return a.Store.SetPasswordHash(ctx, id, hash)
}

// hashPassword checks a new password (an error names field) and hashes it.
func (a *Accounts) hashPassword(ctx context.Context, field, password string) (string, error) {
	if err := store.ValidatePassword(field, password); err != nil {
		return "", err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func isSelf(caller *auth.Caller, id store.ID) bool { return caller.UserID == int64(id) }
