package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func mustCreate(t *testing.T, s *store.Store, n store.NewUser) *store.User {
	t.Helper()
	n.IsActive = true
	u, err := s.CreateUser(context.Background(), n)
	if err != nil {
		t.Fatalf("create %s: %v", n.Username, err)
	}
	return u
}

func fieldErrors(t *testing.T, err error) map[string][]string {
	t.Helper()
	ve, ok := fault.As(err)
	if !ok || ve.Code != fault.Invalid {
		t.Fatalf("want a validation error, got %v", err)
	}
	return ve.Fields
}

func TestCreateAndReadUser(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "kavehkm", PasswordHash: "argon2$x", FirstName: "kaveh", LastName: "mehrbanian", Email: "kaveh@example.com", PhoneNumber: "+7 916 000-00-00"})
	if u.ID != 1 {
		t.Errorf("first user id = %d, want 1", u.ID)
	}
	byID, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName, err := s.UserByUsername(ctx, "kavehkm")
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*store.User{byID, byName} {
		if !reflect.DeepEqual(got, u) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, u)
		}
	}
	if _, err := s.UserByID(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing user: %v, want ErrNotFound", err)
	}
	_, hash, err := s.UserCredentials(ctx, "kavehkm")
	if err != nil || hash != "argon2$x" {
		t.Errorf("credentials = %q, %v", hash, err)
	}
	second := mustCreate(t, s, store.NewUser{Username: "second"})
	if second.ID != 2 || second.Email != "" || second.PhoneNumber != nil {
		t.Errorf("second user = %+v", second)
	}
}

func TestUserValidation(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	long := strings.Repeat("a", 151)
	cases := []struct {
		name string
		in   store.NewUser
		want map[string][]string
	}{
		{"blank username", store.NewUser{Username: ""}, map[string][]string{"username": {"This field may not be blank."}}},
		{"long username", store.NewUser{Username: long}, map[string][]string{"username": {"Ensure this field has no more than 150 characters."}}},
		{"bad username", store.NewUser{Username: "no spaces"}, map[string][]string{"username": {"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."}}},
		{"operator username", store.NewUser{Username: "$ne"}, map[string][]string{"username": {"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."}}},
		{"bad email", store.NewUser{Username: "a", Email: "not-an-email"}, map[string][]string{"email": {"Enter a valid email address."}}},
		{"named email", store.NewUser{Username: "a", Email: "Bob <bob@example.com>"}, map[string][]string{"email": {"Enter a valid email address."}}},
		{"long email", store.NewUser{Username: "a", Email: strings.Repeat("e", 250) + "@x.io"}, map[string][]string{"email": {"Ensure this field has no more than 254 characters."}}},
		{"long names", store.NewUser{Username: "a", FirstName: long, LastName: long}, map[string][]string{
			"first_name": {"Ensure this field has no more than 150 characters."},
			"last_name":  {"Ensure this field has no more than 150 characters."},
		}},
		{"bad phone", store.NewUser{Username: "a", PhoneNumber: "call me"}, map[string][]string{"phone_number": {"Enter a valid phone number."}}},
		{"long uname", store.NewUser{Username: "a", Uname: long}, map[string][]string{"uname": {"Ensure this field has no more than 150 characters."}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, c.in)
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, c.want) {
				t.Errorf("errors = %v, want %v", got, c.want)
			}
		})
	}
	if n, err := s.CountUsers(ctx, nil); err != nil || n != 0 {
		t.Errorf("invalid input stored users: %d, %v", n, err)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{Username: "Ünïcødé.user@+-_"}); err != nil {
		t.Errorf("a Unicode username Django accepts: %v", err)
	}
}

func TestUniqueUsernameAndEmail(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	first := mustCreate(t, s, store.NewUser{Username: "alice", Email: "alice@example.com"})
	mustCreate(t, s, store.NewUser{Username: "bob"})
	mustCreate(t, s, store.NewUser{Username: "carol"}) // a second user without email is fine

	_, err := s.CreateUser(ctx, store.NewUser{Username: "alice"})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"username": {"A user with that username already exists."}}) {
		t.Errorf("duplicate username: %v", got)
	}
	_, err = s.CreateUser(ctx, store.NewUser{Username: "alice2", Email: "ALICE@example.com"})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"email": {"user with this email already exists."}}) {
		t.Errorf("duplicate email: %v", got)
	}
	_, err = s.UpdateUser(ctx, 2, store.UserUpdate{Username: ptr("alice")})
	if got := fieldErrors(t, err); got["username"] == nil {
		t.Errorf("update to a taken username: %v", got)
	}
	// Clearing and re-setting one's own email is not a conflict.
	if _, err := s.UpdateUser(ctx, first.ID, store.UserUpdate{Email: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, 2, store.UserUpdate{Email: ptr("alice@example.com")}); err != nil {
		t.Errorf("email freed by its owner: %v", err)
	}
}

func TestConcurrentSignUpsOneUsername(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateUser(ctx, store.NewUser{Username: "racer", IsActive: true})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case strings.Contains(fmt.Sprint(err), "already exists"):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d sign-ups succeeded, want exactly 1", ok)
	}
}

func TestUpdateUser(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 11, 6, 7, 37, 34, 364000000, time.UTC)
	s := storetest.Open(t, store.Options{Now: func() time.Time { return now }})
	u := mustCreate(t, s, store.NewUser{Username: "dave", FirstName: "Dave", PhoneNumber: "123"})
	now = now.Add(time.Hour)
	got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: ptr("David"), PhoneNumber: ptr(""), IsStaff: ptr(true), ModifiedBy: ptr(store.ID(7))})
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "David" || got.PhoneNumber != nil || !got.IsStaff || got.Username != "dave" || !got.Modified.Equal(now) || *got.ModifiedBy != 7 {
		t.Errorf("updated user = %+v", got)
	}
	if _, err := s.UpdateUser(ctx, 404, store.UserUpdate{FirstName: ptr("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Username: ptr("bad name")}); err == nil {
		t.Error("invalid update accepted")
	}
	if again, _ := s.UserByID(ctx, u.ID); again.Username != "dave" {
		t.Errorf("a refused update changed the user: %+v", again)
	}
	// uname is 002's second name: set, changed, never unique.
	if got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Uname: ptr("dj")}); err != nil || got.Uname != "dj" || got.FirstName != "David" {
		t.Errorf("set uname: %+v %v", got, err)
	}
	if other, err := s.CreateUser(ctx, store.NewUser{Username: "dj2", Uname: "dj"}); err != nil || other.Uname != "dj" {
		t.Errorf("a second user with the same uname: %+v %v", other, err)
	}
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Uname: ptr(strings.Repeat("u", 151))}); err == nil {
		t.Error("a uname over 150 characters accepted")
	}
}

func TestDeleteUserRemovesTokens(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "erin"})
	other := mustCreate(t, s, store.NewUser{Username: "frank"})
	for _, d := range []string{"d1", "d2"} {
		if _, err := s.CreateToken(ctx, d, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateToken(ctx, "d3", other.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	for _, d := range []string{"d1", "d2"} {
		if _, err := s.TokenByDigest(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token %s survived its user: %v", d, err)
		}
	}
	if tok, err := s.TokenByDigest(ctx, "d3"); err != nil || tok.UserID != other.ID {
		t.Errorf("another user's token: %+v, %v", tok, err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "gina"})
	for _, d := range []string{"a", "b", "c"} {
		if _, err := s.CreateToken(ctx, d, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteToken(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "a"); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if err := s.DeleteUserTokens(ctx, u.ID, "c"); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{"a": false, "b": false, "c": true} {
		_, err := s.TokenByDigest(ctx, d)
		if (err == nil) != want {
			t.Errorf("token %s exists = %v, want %v", d, err == nil, want)
		}
	}
}

func TestSignInRecordsAndRehashes(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "hank", PasswordHash: "pbkdf2_sha256$1$salt$x"})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.RecordSignIn(ctx, u.ID, at, "argon2$new"); err != nil {
		t.Fatal(err)
	}
	got, hash, err := s.UserCredentials(ctx, "hank")
	if err != nil || hash != "argon2$new" || got.LastLogin == nil || !got.LastLogin.Equal(at) {
		t.Errorf("after sign-in: %+v %q %v", got, hash, err)
	}
	if err := s.RecordSignIn(ctx, 999, at, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sign-in of a missing user: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := storetest.Open(t, store.Options{Now: func() time.Time { return now }})
	blockAfter3 := func(n int) time.Duration {
		if n > 3 {
			return time.Duration(n-3) * time.Minute
		}
		return 0
	}
	attempt := func(key string) time.Time {
		t.Helper()
		until, err := s.ThrottleAttempt(ctx, key, time.Hour, blockAfter3)
		if err != nil {
			t.Fatal(err)
		}
		return until
	}
	for i := 1; i <= 4; i++ {
		if until := attempt("account:x"); !until.IsZero() {
			t.Fatalf("attempt %d refused until %v", i, until)
		}
	}
	// The fourth attempt went ahead and blocked the key for a minute.
	if until := attempt("account:x"); !until.Equal(now.Add(time.Minute)) {
		t.Errorf("blocked until %v, want %v", until, now.Add(time.Minute))
	}
	if until := attempt("account:other"); !until.IsZero() {
		t.Errorf("an untouched key is blocked until %v", until)
	}
	// Once the block has passed, the next attempt goes ahead and blocks
	// for longer.
	now = now.Add(time.Minute)
	if until := attempt("account:x"); !until.IsZero() {
		t.Errorf("after the block: refused until %v", until)
	}
	if until := attempt("account:x"); !until.Equal(now.Add(2 * time.Minute)) {
		t.Errorf("second block until %v, want %v", until, now.Add(2*time.Minute))
	}
	// After the window, counting starts again.
	now = now.Add(2 * time.Hour)
	for i := 1; i <= 4; i++ {
		if until := attempt("account:x"); !until.IsZero() {
			t.Fatalf("attempt %d of a new window refused until %v", i, until)
		}
	}
	if err := s.ThrottleReset(ctx, "account:x"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if until := attempt("account:x"); !until.IsZero() {
			t.Fatalf("attempt %d after reset refused until %v", i, until)
		}
	}
	now = now.Add(3 * time.Hour)
	if pruned, err := s.PruneThrottle(ctx, time.Hour); err != nil || pruned != 2 {
		t.Errorf("pruned %d, %v", pruned, err)
	}
}

// seedFilterUsers stores a small, varied set of users for the lookups.
func seedFilterUsers(t *testing.T, s *store.Store, joined time.Time) {
	t.Helper()
	users := []store.NewUser{
		{Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Archer", PhoneNumber: "100"},
		{Username: "Alfred", Email: "alfred@example.org", FirstName: "Alfred", LastName: "Baker"},
		{Username: "bob", Email: "bob@example.com", FirstName: "Bob", LastName: "Carter", PhoneNumber: "200"},
		{Username: "carol.x", FirstName: "Carol", LastName: "archer", IsStaff: true},
		{Username: "dave", FirstName: "dot.*(a+)+$", LastName: "User"},
	}
	_ = joined
	for _, u := range users {
		mustCreate(t, s, u)
	}
}

func usernames(users []store.User) []string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	sort.Strings(names)
	return names
}

func TestFilterLookups(t *testing.T) {
	ctx := context.Background()
	joined := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := joined
	s := storetest.Open(t, store.Options{Now: func() time.Time { clock = clock.Add(time.Hour); return clock }})
	seedFilterUsers(t, s, joined)
	// Joined at 13:00, 14:00 … 17:00 on March 1st, in seed order.
	at := func(h int) *time.Time { v := time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC); return &v }

	cases := []struct {
		name   string
		filter store.UserFilter
		want   []string
	}{
		{"exact", store.UserFilter{Username: &store.StringLookup{Exact: ptr("alice")}}, []string{"alice"}},
		{"exact is case-sensitive", store.UserFilter{Username: &store.StringLookup{Exact: ptr("ALICE")}}, []string{}},
		{"iexact", store.UserFilter{Username: &store.StringLookup{IExact: ptr("ALICE")}}, []string{"alice"}},
		{"iexact is whole", store.UserFilter{Username: &store.StringLookup{IExact: ptr("ALIC")}}, []string{}},
		{"contains", store.UserFilter{Email: &store.StringLookup{Contains: ptr("example.com")}}, []string{"alice", "bob"}},
		{"contains is case-sensitive", store.UserFilter{FirstName: &store.StringLookup{Contains: ptr("AL")}}, []string{}},
		{"icontains", store.UserFilter{FirstName: &store.StringLookup{IContains: ptr("AL")}}, []string{"Alfred", "alice"}},
		{"startswith", store.UserFilter{Username: &store.StringLookup{StartsWith: ptr("Al")}}, []string{"Alfred"}},
		{"istartswith", store.UserFilter{Username: &store.StringLookup{IStartsWith: ptr("al")}}, []string{"Alfred", "alice"}},
		{"endswith", store.UserFilter{LastName: &store.StringLookup{EndsWith: ptr("er")}}, []string{"Alfred", "alice", "bob", "carol.x", "dave"}},
		{"endswith is case-sensitive", store.UserFilter{LastName: &store.StringLookup{EndsWith: ptr("ER")}}, []string{}},
		{"iendswith", store.UserFilter{LastName: &store.StringLookup{IEndsWith: ptr("CHER")}}, []string{"alice", "carol.x"}},
		{"in", store.UserFilter{Username: &store.StringLookup{In: []string{"bob", "carol.x", "nobody"}}}, []string{"bob", "carol.x"}},
		{"gt as text", store.UserFilter{Username: &store.StringLookup{Gt: ptr("b")}}, []string{"bob", "carol.x", "dave"}},
		{"gte", store.UserFilter{Username: &store.StringLookup{Gte: ptr("bob")}}, []string{"bob", "carol.x", "dave"}},
		{"lt", store.UserFilter{Username: &store.StringLookup{Lt: ptr("alice")}}, []string{"Alfred"}},
		{"lte", store.UserFilter{Username: &store.StringLookup{Lte: ptr("alice")}}, []string{"Alfred", "alice"}},
		{"phone isnull", store.UserFilter{PhoneNumber: &store.StringLookup{IsNull: ptr(true)}}, []string{"Alfred", "carol.x", "dave"}},
		{"phone startswith", store.UserFilter{PhoneNumber: &store.StringLookup{StartsWith: ptr("2")}}, []string{"bob"}},
		{"is_staff", store.UserFilter{IsStaff: ptr(true)}, []string{"carol.x"}},
		{"is_active", store.UserFilter{IsActive: ptr(false)}, []string{}},
		{"date_joined gt", store.UserFilter{DateJoined: &store.TimeLookup{Gt: at(15)}}, []string{"carol.x", "dave"}},
		{"date_joined gte lt", store.UserFilter{DateJoined: &store.TimeLookup{Gte: at(14), Lt: at(16)}}, []string{"Alfred", "bob"}},
		{"date_joined lte", store.UserFilter{DateJoined: &store.TimeLookup{Lte: at(13)}}, []string{"alice"}},
		{"date_joined exact", store.UserFilter{DateJoined: &store.TimeLookup{Exact: at(15)}}, []string{"bob"}},
		{"last_login isnull", store.UserFilter{LastLogin: &store.TimeLookup{IsNull: ptr(false)}}, []string{}},
		{"regex text is literal", store.UserFilter{FirstName: &store.StringLookup{Contains: ptr(".*(a+)+$")}}, []string{"dave"}},
		{"dot is literal", store.UserFilter{Username: &store.StringLookup{Contains: ptr(".")}}, []string{"carol.x"}},
		{"search all words", store.UserFilter{Search: "archer al"}, []string{"alice"}},
		{"search email", store.UserFilter{Search: "EXAMPLE.ORG"}, []string{"Alfred"}},
		{"or", store.UserFilter{Or: []*store.UserFilter{{Username: &store.StringLookup{Exact: ptr("bob")}}, {IsStaff: ptr(true)}}}, []string{"bob", "carol.x"}},
		{"not", store.UserFilter{Not: &store.UserFilter{Username: &store.StringLookup{IStartsWith: ptr("a")}}}, []string{"bob", "carol.x", "dave"}},
		{"ids", store.UserFilter{IDs: []store.ID{1, 3, 42}}, []string{"alice", "bob"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			users, err := s.FindUsers(ctx, &c.filter, nil, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := usernames(users); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			n, err := s.CountUsers(ctx, &c.filter)
			if err != nil || n != len(c.want) {
				t.Errorf("count = %d, %v; want %d", n, err, len(c.want))
			}
		})
	}
}

// Text matched without regard to case is literal in every lookup and in a
// search: %, _ and \ (the embedded engine's LIKE wildcards and its escape)
// match themselves only. Each name below has a decoy that the character,
// read as a wildcard or an escape, would match instead or as well.
func TestWildcardsAreLiteralInCaseInsensitiveLookups(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	for username, firstName := range map[string]string{
		"percent": "50%", "percent-decoy": "50x",
		"underscore": "a_b", "underscore-decoy": "axb",
		"backslash": `c\d`, "backslash-decoy": "cd",
	} {
		mustCreate(t, s, store.NewUser{Username: username, FirstName: firstName})
	}
	first := func(l store.StringLookup) *store.UserFilter { return &store.UserFilter{FirstName: &l} }
	for _, c := range []struct {
		char, want string
		// The text each lookup is given; a short search word is one too
		// short for the search index, so it is matched by LIKE alone.
		iexact, icontains, istartswith, iendswith, search, shortSearch string
	}{
		{"%", "percent", "50%", "0%", "50%", "0%", "50%", "0%"},
		{"_", "underscore", "A_B", "_", "A_", "_B", "A_B", "A_"},
		{`\`, "backslash", `C\D`, `\`, `C\`, `\D`, `C\D`, `\D`},
	} {
		for lookup, filter := range map[string]*store.UserFilter{
			"iexact":       first(store.StringLookup{IExact: &c.iexact}),
			"icontains":    first(store.StringLookup{IContains: &c.icontains}),
			"istartswith":  first(store.StringLookup{IStartsWith: &c.istartswith}),
			"iendswith":    first(store.StringLookup{IEndsWith: &c.iendswith}),
			"search":       {Search: c.search},
			"short search": {Search: c.shortSearch},
		} {
			t.Run(lookup+" "+c.char, func(t *testing.T) {
				users, err := s.FindUsers(ctx, filter, nil, store.Page{})
				if err != nil {
					t.Fatal(err)
				}
				if got := usernames(users); !reflect.DeepEqual(got, []string{c.want}) {
					t.Errorf("got %v, want [%s]", got, c.want)
				}
				n, err := s.CountUsers(ctx, filter)
				if err != nil || n != 1 {
					t.Errorf("count = %d, %v; want 1", n, err)
				}
			})
		}
	}
}

func TestSortAndPage(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	seedFilterUsers(t, s, time.Now())
	byID, err := s.FindUsers(ctx, nil, nil, store.Page{Offset: 1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(byID) != 2 || byID[0].ID != 2 || byID[1].ID != 3 {
		t.Errorf("page by id = %+v", byID)
	}
	desc, _ := s.FindUsers(ctx, nil, []store.UserSort{{Field: store.UserSortLastName, Direction: store.Descending}}, store.Page{Limit: 2})
	if got := []string{desc[0].LastName, desc[1].LastName}; !reflect.DeepEqual(got, []string{"archer", "User"}) {
		t.Errorf("by last name, descending = %v", got)
	}
	idDesc, _ := s.FindUsers(ctx, nil, []store.UserSort{{Field: store.UserSortID, Direction: store.Descending}}, store.Page{Limit: 1})
	if idDesc[0].ID != 5 {
		t.Errorf("by id, descending, first = %d", idDesc[0].ID)
	}
	past, _ := s.FindUsers(ctx, nil, nil, store.Page{Offset: 10})
	if len(past) != 0 {
		t.Errorf("past the end: %d users", len(past))
	}
}

// Ids of 10 or more digits must sort after shorter ones: the stored form is
// fixed-width for that.
func TestIDOrderPastNine(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	for i := range 12 {
		mustCreate(t, s, store.NewUser{Username: fmt.Sprintf("u%02d", i)})
	}
	users, _ := s.FindUsers(ctx, nil, nil, store.Page{})
	for i, u := range users {
		if u.ID != store.ID(i+1) {
			t.Fatalf("position %d holds id %d", i, u.ID)
		}
	}
	ranged, _ := s.FindUsers(ctx, &store.UserFilter{IDs: []store.ID{9, 10, 11}}, nil, store.Page{})
	if len(ranged) != 3 {
		t.Errorf("ids 9-11: %d users", len(ranged))
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]store.ID{"1": 1, "66": 66, "9223372036854775807": 9223372036854775807} {
		if got, err := store.ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "+1", "zzz", "1.5", " 1", "92233720368547758070", "9223372036854775808", "٣"} {
		if _, err := store.ParseID(in); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("ParseID(%q) = %v, want ErrInvalidID", in, err)
		}
	}
}

// Every user has a person id from a counter of its own, whichever way it
// was created; an imported user keeps the one it had, and the counter
// never hands that one out again.
func TestEveryUserGetsAPerson(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	first := mustCreate(t, s, store.NewUser{Username: "first"})
	if first.Person == nil || *first.Person != 1 {
		t.Fatalf("first user's person = %v, want 1", first.Person)
	}
	ids, err := s.CreateUsers(ctx, []store.NewUser{
		{Username: "imported", Person: ptr(int64(40))},
		{Username: "seeded"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.ID]int64{ids[0]: 40, ids[1]: 41}
	for id, person := range want {
		u, err := s.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Person == nil || *u.Person != person {
			t.Errorf("user %s: person %v, want %d", u.Username, u.Person, person)
		}
	}
	next := mustCreate(t, s, store.NewUser{Username: "next"})
	if next.Person == nil || *next.Person != 42 || int64(next.ID) == *next.Person {
		t.Errorf("next user: id %s, person %v; want person 42, apart from the user ids", next.ID, next.Person)
	}
	changed, err := s.UpdateUser(ctx, next.ID, store.UserUpdate{FirstName: ptr("Nell")})
	if err != nil || changed.Person == nil || *changed.Person != 42 {
		t.Errorf("an update moved the person: %v, %v", changed, err)
	}
	_, err = s.CreateUser(ctx, store.NewUser{Username: "zero", Person: ptr(int64(0))})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"person": {"Ensure this value is greater than or equal to 1."}}) {
		t.Errorf("person 0: %v", got)
	}
}

// A user refused for one field is told of every other field at fault too,
// its own username and email excepted.
func TestEveryFieldErrorAtOnce(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	mustCreate(t, s, store.NewUser{Username: "taken", Email: "taken@example.com"})
	me := mustCreate(t, s, store.NewUser{Username: "me", Email: "me@example.com"})
	long := strings.Repeat("a", 151)
	_, err := s.CreateUser(ctx, store.NewUser{Username: "taken", Email: "TAKEN@example.com", FirstName: long})
	want := map[string][]string{
		"username":   {"A user with that username already exists."},
		"email":      {"user with this email already exists."},
		"first_name": {"Ensure this field has no more than 150 characters."},
	}
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("create: %v, want %v", got, want)
	}
	_, err = s.UpdateUser(ctx, me.ID, store.UserUpdate{Username: ptr("me"), Email: ptr("me@example.com"), LastName: &long})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"last_name": {"Ensure this field has no more than 150 characters."}}) {
		t.Errorf("update keeping its own name and email: %v", got)
	}
	_, err = s.UpdateUser(ctx, me.ID, store.UserUpdate{Username: ptr("taken"), PhoneNumber: ptr(strings.Repeat("1", 21))})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{
		"username": {"A user with that username already exists."}, "phone_number": {"Ensure this field has no more than 20 characters."},
	}) {
		t.Errorf("update to a taken name: %v", got)
	}
	if again, _ := s.UserByID(ctx, me.ID); again.Username != "me" || again.PhoneNumber != nil {
		t.Errorf("a refused update changed the user: %+v", again)
	}
}

// Revoking a user's tokens marks them, so that they can still be told
// apart from tokens that never existed; other users' stay as they were.
func TestRevokeUserTokens(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "gail"})
	other := mustCreate(t, s, store.NewUser{Username: "hank"})
	for digest, owner := range map[string]store.ID{"g1": u.ID, "g2": u.ID, "h1": other.ID} {
		if _, err := s.CreateToken(ctx, digest, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeUserTokens(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for digest, revoked := range map[string]bool{"g1": true, "g2": true, "h1": false} {
		tok, err := s.TokenByDigest(ctx, digest)
		if err != nil || tok.Revoked != revoked {
			t.Errorf("token %s: %+v, %v; want revoked %v", digest, tok, err, revoked)
		}
	}
}

// Users stored before persons were numbered get one at the next migrate,
// after those that have one, and keep it.
func TestMigrateGivesEveryUserAPerson(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	numbered := mustCreate(t, s, store.NewUser{Username: "numbered"})
	for i, name := range []string{"older1", "older2"} {
		old := bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", 901+i)}, {Key: "username", Value: name},
			{Key: "email_key", Value: "\x00" + name}, {Key: "person", Value: nil}, {Key: "is_active", Value: true}}
		if _, err := s.Collection("users").Insert(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{*numbered.Person: "numbered"}
	for _, name := range []string{"older1", "older2"} {
		u, err := s.UserByUsername(ctx, name)
		if err != nil || u.Person == nil {
			t.Fatalf("%s after migrate: %+v %v", name, u, err)
		}
		if other, dup := seen[*u.Person]; dup {
			t.Errorf("%s got person %d, which %s has", name, *u.Person, other)
		}
		seen[*u.Person] = name
	}
	again, _ := s.UserByUsername(ctx, "older1")
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.UserByUsername(ctx, "older1"); *after.Person != *again.Person {
		t.Errorf("a second migrate moved a person: %d, then %d", *again.Person, *after.Person)
	}
}

// A search holds at most MaxSearchWords words of at most
// MaxSearchWordLength characters: at the bounds it is answered, as a page
// and as a count; one word more, or one character more, is refused as
// invalid input naming the search, before the store is asked anything,
// and however long the text past the bound is.
func TestSearchBounds(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	email := strings.Repeat("e", store.MaxSearchWordLength-len("@example.com")) + "@example.com"
	mustCreate(t, s, store.NewUser{Username: "longmail", Email: email})
	mustCreate(t, s, store.NewUser{Username: "other", Email: "other@example.com"})
	words := func(n int, word string) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	for _, c := range []struct {
		name, search string
		want         []string // nil: refused
	}{
		{"the most words", words(store.MaxSearchWords, "LONGMAIL"), []string{"longmail"}},
		{"the longest word", email, []string{"longmail"}},
		{"whitespace is no word", "\t longmail \n" + strings.Repeat(" ", 1<<20), []string{"longmail"}},
		{"one word more", words(store.MaxSearchWords+1, "longmail"), nil},
		{"a character more", "x" + email, nil},
		{"a megabyte of words", words(1<<19, "a"), nil},
		{"a megabyte in one word", strings.Repeat("a", 1<<20), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &store.UserFilter{Search: c.search}
			users, err := s.FindUsers(ctx, f, nil, store.Page{Limit: 10})
			n, countErr := s.CountUsers(ctx, f)
			if c.want == nil {
				if fields := fieldErrors(t, err); len(fields["search"]) != 1 {
					t.Errorf("page refused with %v, want one error on search", fields)
				}
				if fields := fieldErrors(t, countErr); len(fields["search"]) != 1 {
					t.Errorf("count refused with %v, want one error on search", fields)
				}
				return
			}
			if err != nil || countErr != nil {
				t.Fatalf("page %v, count %v", err, countErr)
			}
			if got := usernames(users); !reflect.DeepEqual(got, c.want) || n != len(c.want) {
				t.Errorf("found %v (count %d), want %v", got, n, c.want)
			}
		})
	}
	// The words a search is split into are the bound's own.
	if got, err := store.SearchWords(" a\tb  c\n"); err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("SearchWords = %q, %v", got, err)
	}
}
