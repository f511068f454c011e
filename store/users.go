package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// User is a person who signs in. It deliberately has no password field: the
// hash is read only by UserCredentials, so no code path that returns a User
// can leak it.
type User struct {
	ID            ID         `bson:"_id"`
	Username      string     `bson:"username"`
	FirstName     string     `bson:"first_name"`
	LastName      string     `bson:"last_name"`
	Uname         string     `bson:"uname"` // jsonapi's second name beside the username; not unique, may be empty
	Email         string     `bson:"email"`
	PhoneNumber   *string    `bson:"phone_number"`
	IsActive      bool       `bson:"is_active"`
	IsStaff       bool       `bson:"is_staff"`
	IsSuperuser   bool       `bson:"is_superuser"`
	DateJoined    time.Time  `bson:"date_joined"`
	LastLogin     *time.Time `bson:"last_login"`
	Person        *int64     `bson:"person"`
	RoleIDs       []ID       `bson:"roles"`
	PermissionIDs []ID       `bson:"permissions"`
	Created       time.Time  `bson:"created"`
	Modified      time.Time  `bson:"modified"`
	CreatedBy     *ID        `bson:"created_by"`
	ModifiedBy    *ID        `bson:"modified_by"`
}

// userDoc is a User as written, with the fields that never leave the store.
// UsernameKey is omitted when empty so that a user copied from a store
// written before usernames had keys stays without one (until the target's
// migrate gives it one) rather than taking the empty key every other such
// user would take too.
type userDoc struct {
	User        `bson:",inline"`
	Password    string `bson:"password"`
	EmailKey    string `bson:"email_key"`
	UsernameKey string `bson:"username_key,omitempty"`
}

// withoutSecrets is the projection of every read that returns a User.
var withoutSecrets = bson.D{{Key: "password", Value: 0}, {Key: "email_key", Value: 0}, {Key: "username_key", Value: 0}}

// NewUser is what creating a user takes. PasswordHash is already hashed by
// the caller (package auth); an empty hash makes the password unusable.
type NewUser struct {
	Username     string
	PasswordHash string
	FirstName    string
	LastName     string
	Uname        string
	Email        string
	PhoneNumber  string
	IsActive     bool
	IsStaff      bool
	IsSuperuser  bool
	// RoleIDs are the roles the user starts with; they must exist.
	RoleIDs   []ID
	CreatedBy *ID
	// Person is the person id an imported user already has; nil takes the
	// next one of the person counter.
	Person *int64
}

func (n *NewUser) validate() error {
	v := &fault.FieldErrors{}
	validateUsername(v, n.Username)
	validateName(v, "first_name", n.FirstName)
	validateName(v, "last_name", n.LastName)
	validateName(v, "uname", n.Uname)
	validateEmail(v, n.Email)
	validatePhone(v, n.PhoneNumber)
	if n.Person != nil && *n.Person < 1 {
		v.Add("person", msgMinValue(1))
	}
	return v.Err()
}

// document is the user as first stored.
func (n *NewUser) document(id ID, now time.Time) userDoc {
	return userDoc{
		User: User{
			ID:            id,
			Username:      n.Username,
			FirstName:     n.FirstName,
			LastName:      n.LastName,
			Uname:         n.Uname,
			Email:         n.Email,
			PhoneNumber:   optional(n.PhoneNumber),
			IsActive:      n.IsActive,
			IsStaff:       n.IsStaff,
			IsSuperuser:   n.IsSuperuser,
			DateJoined:    now,
			Person:        n.Person,
			RoleIDs:       nonNil(uniqueIDs(n.RoleIDs)),
			PermissionIDs: []ID{},
			Created:       now,
			Modified:      now,
			CreatedBy:     n.CreatedBy,
			ModifiedBy:    n.CreatedBy,
		},
		Password:    n.PasswordHash,
		EmailKey:    emailKey(id, n.Email),
		UsernameKey: usernameKey(n.Username),
	}
}

// UserUpdate changes the fields that are set and leaves the rest.
// An empty PhoneNumber clears it.
type UserUpdate struct {
	Username    *string
	FirstName   *string
	LastName    *string
	Uname       *string
	Email       *string
	PhoneNumber *string
	IsActive    *bool
	IsStaff     *bool
	IsSuperuser *bool
	ModifiedBy  *ID
	// PasswordHash, already hashed by the caller, replaces the password in
	// the same write as the rest.
	PasswordHash *string
}

func (u *UserUpdate) validate() error {
	v := &fault.FieldErrors{}
	if u.Username != nil {
		validateUsername(v, *u.Username)
	}
	if u.FirstName != nil {
		validateName(v, "first_name", *u.FirstName)
	}
	if u.LastName != nil {
		validateName(v, "last_name", *u.LastName)
	}
	if u.Uname != nil {
		validateName(v, "uname", *u.Uname)
	}
	if u.Email != nil {
		validateEmail(v, *u.Email)
	}
	if u.PhoneNumber != nil {
		validatePhone(v, *u.PhoneNumber)
	}
	return v.Err()
}

// UserFilter selects users. Every condition set must hold.
type UserFilter struct {
	IDs []ID
	// RoleIDs keeps users holding any of these roles.
	RoleIDs     []ID
	Username    *StringLookup
	Email       *StringLookup
	PhoneNumber *StringLookup
	FirstName   *StringLookup
	LastName    *StringLookup
	IsActive    *bool
	IsStaff     *bool
	IsSuperuser *bool
	DateJoined  *TimeLookup
	LastLogin   *TimeLookup
	// Search is Django's SearchFilter over username, names and email.
	Search string
	And    []*UserFilter
	Or     []*UserFilter
	Not    *UserFilter
}

// Values counts the values the filter holds itself (each lookup given,
// each item of its lists), not those of the filters in its and, or and
// not, nor its search: what bounds the size of a filter counts.
func (f *UserFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + len(f.RoleIDs) + f.Username.Values() + f.Email.Values() + f.PhoneNumber.Values() +
		f.FirstName.Values() + f.LastName.Values() + given(f.IsActive, f.IsStaff, f.IsSuperuser) +
		f.DateJoined.Values() + f.LastLogin.Values()
}

// document is the filter as the store's query, or the error of a search
// past its bounds.
func (f *UserFilter) document() (bson.D, error) {
	if f == nil {
		return bson.D{}, nil
	}
	var and bson.A
	if f.IDs != nil {
		and = append(and, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(f.IDs)}}}})
	}
	if f.RoleIDs != nil {
		and = append(and, bson.D{{Key: "roles", Value: bson.D{{Key: "$in", Value: idKeys(f.RoleIDs)}}}})
	}
	and = append(and, f.Username.conditions("username")...)
	and = append(and, f.Email.conditions("email")...)
	and = append(and, f.PhoneNumber.conditions("phone_number")...)
	and = append(and, f.FirstName.conditions("first_name")...)
	and = append(and, f.LastName.conditions("last_name")...)
	and = append(and, boolCondition("is_active", f.IsActive)...)
	and = append(and, boolCondition("is_staff", f.IsStaff)...)
	and = append(and, boolCondition("is_superuser", f.IsSuperuser)...)
	and = append(and, f.DateJoined.conditions("date_joined")...)
	and = append(and, f.LastLogin.conditions("last_login")...)
	search, err := searchConditions(f.Search, userSearchFields...)
	if err != nil {
		return nil, err
	}
	and = append(and, search...)
	for _, sub := range f.And {
		d, err := sub.document()
		if err != nil {
			return nil, err
		}
		and = append(and, d)
	}
	if len(f.Or) > 0 {
		or := make(bson.A, 0, len(f.Or))
		for _, sub := range f.Or {
			d, err := sub.document()
			if err != nil {
				return nil, err
			}
			or = append(or, d)
		}
		and = append(and, bson.D{{Key: "$or", Value: or}})
	}
	if f.Not != nil {
		d, err := f.Not.document()
		if err != nil {
			return nil, err
		}
		and = append(and, bson.D{{Key: "$nor", Value: bson.A{d}}})
	}
	return allOf(and), nil
}

// UserSortField names a field users can be ordered by: an allow-list, so no
// client text ever becomes a sort key.
type UserSortField string

const (
	UserSortID         UserSortField = "_id"
	UserSortUsername   UserSortField = "username"
	UserSortEmail      UserSortField = "email"
	UserSortFirstName  UserSortField = "first_name"
	UserSortLastName   UserSortField = "last_name"
	UserSortDateJoined UserSortField = "date_joined"
	UserSortLastLogin  UserSortField = "last_login"
)

// UserSort orders users by one field.
type UserSort struct {
	Field     UserSortField
	Direction SortDirection
}

func sortDocument(sorts []UserSort) bson.D {
	doc := bson.D{}
	for _, s := range sorts {
		if s.Field == UserSortID {
			continue
		}
		dir := s.Direction
		if dir == 0 {
			dir = Ascending
		}
		doc = append(doc, bson.E{Key: string(s.Field), Value: int(dir)})
	}
	// The id breaks ties, so pages never overlap or skip.
	idDir := Ascending
	for _, s := range sorts {
		if s.Field == UserSortID && s.Direction == Descending {
			idDir = Descending
		}
	}
	return append(doc, bson.E{Key: "_id", Value: int(idDir)})
}

// CreateUser validates and stores a new user, its username in NFKC form.
// The unique indexes on username, username key and email key refuse a
// name another user holds, whatever its case, or an email another holds.
// Errors: fault.Invalid (invalid or duplicate username or email, every
// field at fault named at once; see withTakenFields), ErrUnavailable.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (*User, error) {
	n.Username = normalizeUsername(n.Username)
	u, err := s.createUser(ctx, n)
	return u, s.withTakenFields(ctx, err, 0, n.Username, n.Email)
}

func (s *Store) createUser(ctx context.Context, n NewUser) (*User, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	if err := checkIDsExist(ctx, s.roles(), "roles", n.RoleIDs); err != nil {
		return nil, err
	}
	one := []NewUser{n}
	if err := s.assignPersons(ctx, one); err != nil {
		return nil, err
	}
	n = one[0]
	now := s.nowUTC()
	var doc userDoc
	id, err := s.insertWithNewID(ctx, colUsers, func(id ID) any {
		doc = n.document(id, now)
		return doc
	})
	if err != nil {
		return nil, s.userWriteError(ctx, err, id, n.Username, n.Email)
	}
	return &doc.User, nil
}

// UserByID returns one user. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) UserByID(ctx context.Context, id ID) (*User, error) {
	return s.findUser(ctx, byID(id), "id "+id.String())
}

// UserByUsername returns one user by exact username. Errors: ErrNotFound,
// ErrUnavailable.
func (s *Store) UserByUsername(ctx context.Context, username string) (*User, error) {
	return s.findUser(ctx, bson.D{{Key: "username", Value: username}}, "username")
}

func (s *Store) findUser(ctx context.Context, filter bson.D, what string) (*User, error) {
	var u User
	err := s.users().FindOne(ctx, filter, docdb.FindOptions{Projection: withoutSecrets}, &u)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find user by %s: %w", what, err)
	}
	return &u, nil
}

// UsersByIDs returns the users with the given ids that exist, in no
// particular order, in one round trip.
func (s *Store) UsersByIDs(ctx context.Context, ids []ID) ([]User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.FindUsers(ctx, &UserFilter{IDs: ids}, nil, Page{})
}

// UserCredentials returns the user and their password hash, for signing in.
// Errors: ErrNotFound, ErrUnavailable.
func (s *Store) UserCredentials(ctx context.Context, username string) (*User, string, error) {
	var doc userDoc
	err := s.users().FindOne(ctx, bson.D{{Key: "username", Value: username}}, docdb.FindOptions{}, &doc)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("find credentials: %w", err)
	}
	return &doc.User, doc.Password, nil
}

// PasswordHash returns a user's password hash, for checking an old password.
func (s *Store) PasswordHash(ctx context.Context, id ID) (string, error) {
	var doc struct {
		Password string `bson:"password"`
	}
	err := s.users().FindOne(ctx, byID(id), docdb.FindOptions{Projection: bson.D{{Key: "password", Value: 1}}}, &doc)
	if errors.Is(err, docdb.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find password of user %s: %w", id, err)
	}
	return doc.Password, nil
}

// FindUsers returns the users that match, sorted, one page of them.
// Errors: fault.Invalid naming "search" for a search past its bounds (see
// SearchWords), ErrUnavailable.
func (s *Store) FindUsers(ctx context.Context, f *UserFilter, sorts []UserSort, page Page) ([]User, error) {
	filter, err := f.document()
	if err != nil {
		return nil, err
	}
	opts := docdb.FindOptions{Projection: withoutSecrets, Sort: sortDocument(sorts), Skip: int64(page.Offset), Limit: int64(page.Limit)}
	users := []User{}
	if err := s.users().Find(ctx, filter, opts, &users); err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return users, nil
}

// CountUsers counts the users that match. Errors: those of FindUsers.
func (s *Store) CountUsers(ctx context.Context, f *UserFilter) (int, error) {
	filter, err := f.document()
	if err != nil {
		return 0, err
	}
	n, err := s.users().Count(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return int(n), nil
}

// UpdateUser applies an update and returns the user as it is now. A new
// username is stored in NFKC form and must be free whatever its case, as
// on creation. Errors: ErrNotFound, fault.Invalid (every field at fault
// named at once), ErrUnavailable.
func (s *Store) UpdateUser(ctx context.Context, id ID, u UserUpdate) (*User, error) {
	if u.Username != nil {
		renamed, err := s.renames(ctx, id, *u.Username)
		if err != nil {
			return nil, err
		}
		u.Username = renamed
	}
	user, err := s.updateUser(ctx, id, u)
	return user, s.withTakenFields(ctx, err, id, deref(u.Username), deref(u.Email))
}

// renames answers the username an update sets, in NFKC form, or nil when
// the user already has it (as sent, or in NFKC form): a client that sends
// the whole user back, as PUT does, changes nothing about its name. So a
// user stored before names were normalised or compared whatever their case
// (beside one that differs only in case) keeps its name and its key.
func (s *Store) renames(ctx context.Context, id ID, username string) (*string, error) {
	normal := normalizeUsername(username)
	var doc struct {
		Username string `bson:"username"`
	}
	err := s.users().FindOne(ctx, byID(id), docdb.FindOptions{Projection: bson.D{{Key: "username", Value: 1}}}, &doc)
	switch {
	case errors.Is(err, docdb.ErrNotFound):
		return &normal, nil // the update answers ErrNotFound, after any field error
	case err != nil:
		return nil, fmt.Errorf("find username of user %s: %w", id, err)
	case doc.Username == username || doc.Username == normal:
		return nil, nil
	}
	return &normal, nil
}

func (s *Store) updateUser(ctx context.Context, id ID, u UserUpdate) (*User, error) {
	if err := u.validate(); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	set := bson.D{{Key: "modified", Value: now}}
	setIf := func(key string, v any, ok bool) {
		if ok {
			set = append(set, bson.E{Key: key, Value: v})
		}
	}
	if u.Username != nil {
		set = append(set, bson.E{Key: "username", Value: *u.Username}, bson.E{Key: "username_key", Value: usernameKey(*u.Username)})
	}
	setIf("first_name", deref(u.FirstName), u.FirstName != nil)
	setIf("last_name", deref(u.LastName), u.LastName != nil)
	setIf("uname", deref(u.Uname), u.Uname != nil)
	if u.Email != nil {
		set = append(set, bson.E{Key: "email", Value: *u.Email}, bson.E{Key: "email_key", Value: emailKey(id, *u.Email)})
	}
	setIf("phone_number", optional(deref(u.PhoneNumber)), u.PhoneNumber != nil)
	setIf("is_active", derefBool(u.IsActive), u.IsActive != nil)
	setIf("is_staff", derefBool(u.IsStaff), u.IsStaff != nil)
	setIf("is_superuser", derefBool(u.IsSuperuser), u.IsSuperuser != nil)
	setIf("modified_by", u.ModifiedBy, u.ModifiedBy != nil)
	setIf("password", deref(u.PasswordHash), u.PasswordHash != nil)

	// The secrets are decoded into doc and go no further.
	var doc userDoc
	err := s.users().FindOneAndUpdate(ctx, byID(id),
		bson.D{{Key: "$set", Value: set}}, docdb.ModifyOptions{}, &doc)
	if err != nil {
		if errors.Is(err, docdb.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, s.userWriteError(ctx, err, id, deref(u.Username), deref(u.Email))
	}
	return &doc.User, nil
}

// SetPasswordHash replaces a user's password hash. Errors: ErrNotFound,
// ErrUnavailable.
func (s *Store) SetPasswordHash(ctx context.Context, id ID, hash string) error {
	return s.setUserFields(ctx, id, bson.D{{Key: "password", Value: hash}, {Key: "modified", Value: s.nowUTC()}})
}

// RecordSignIn stamps last_login and, when the stored hash was made with
// older parameters or another algorithm, stores its replacement.
func (s *Store) RecordSignIn(ctx context.Context, id ID, at time.Time, newHash string) error {
	set := bson.D{{Key: "last_login", Value: at.UTC().Truncate(time.Millisecond)}}
	if newHash != "" {
		set = append(set, bson.E{Key: "password", Value: newHash})
	}
	return s.setUserFields(ctx, id, set)
}

func (s *Store) setUserFields(ctx context.Context, id ID, set bson.D) error {
	res, err := s.users().UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}}, false)
	if err != nil {
		return fmt.Errorf("update user %s: %w", id, err)
	}
	if res.Matched == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteUser removes a user and their tokens. Errors: ErrNotFound,
// ErrUnavailable.
func (s *Store) DeleteUser(ctx context.Context, id ID) error {
	n, err := s.users().DeleteOne(ctx, byID(id))
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	// Tokens of a missing user no longer authenticate anyone (CallerByToken
	// finds no user), so a failure here leaves nothing usable behind.
	return s.DeleteUserTokens(ctx, id)
}

// userWriteError turns a duplicate-key error into the field error Django
// would give, and anything else into a wrapped store error.
func (s *Store) userWriteError(ctx context.Context, err error, id ID, username, email string) error {
	if !isDuplicateKey(err) {
		return fmt.Errorf("write user %s: %w", id, err)
	}
	// A write can collide on both names at once, and an engine names only
	// one index (or none): the username is asked first, as Django checks it
	// first.
	if idx := duplicateIndex(err); idx == idxUsername || idx == idxUsernameKey {
		return fault.Field("username", msgUsernameTaken)
	}
	if username != "" && s.usernameTaken(ctx, username, id) {
		return fault.Field("username", msgUsernameTaken)
	}
	if email != "" {
		return fault.Field("email", msgEmailTaken)
	}
	return fault.Field(fault.NonField, "This user conflicts with an existing one.")
}

// withTakenFields completes a user's field errors with the uniqueness
// errors of the username and email they do not name yet, so that a client
// hears of every field at fault at once, as Django validates every field
// before it answers: a name too long does not hide that the username is
// taken, nor a taken username that the email is. self is the user being
// changed (0 for a new one). Any other error passes unchanged, and so does
// this one when the lookups fail: it is already the answer.
func (s *Store) withTakenFields(ctx context.Context, err error, self ID, username, email string) error {
	invalid, ok := fault.As(err)
	if !ok || invalid.Code != fault.Invalid {
		return err
	}
	v := fault.FieldErrors(maps.Clone(invalid.Fields))
	if username != "" && len(v["username"]) == 0 && s.usernameTaken(ctx, username, self) {
		v.Add("username", msgUsernameTaken)
	}
	if email != "" && len(v["email"]) == 0 {
		var other struct {
			ID ID `bson:"_id"`
		}
		err := s.users().FindOne(ctx, bson.D{{Key: "email_key", Value: emailKey(self, email)}},
			docdb.FindOptions{Projection: idOnly}, &other)
		if err == nil && other.ID != self {
			v.Add("email", msgEmailTaken)
		}
	}
	return v.Err()
}

// usernameTaken tells whether a user other than self holds username, or a
// name equal to it whatever its case; a failed lookup tells nothing.
func (s *Store) usernameTaken(ctx context.Context, username string, self ID) bool {
	var other struct {
		ID ID `bson:"_id"`
	}
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: self}}}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "username", Value: username}},
		bson.D{{Key: "username_key", Value: usernameKey(username)}},
	}}}
	return s.users().FindOne(ctx, filter, docdb.FindOptions{Projection: idOnly}, &other) == nil
}

// userSearchFields are the fields a user search reads, as Django's
// SearchFilter of the legacy services did; the embedded engine indexes
// them together for it.
var userSearchFields = []string{"username", "first_name", "last_name", "email"}

func (s *Store) users() docdb.Collection { return s.Collection(colUsers) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefBool(b *bool) bool { return b != nil && *b }

// givePersons gives a person id to every user stored without one (by a
// version of Gatehouse before persons were numbered), so that every user
// has one, as the accounts dialect's clients expect. It reads only such
// users (an index finds them, so a start costs one index probe when there
// are none), a batch of them at a time.
func (s *Store) givePersons(ctx context.Context) error {
	for {
		var missing []struct {
			ID ID `bson:"_id"`
		}
		err := s.users().Find(ctx, bson.D{{Key: "person", Value: nil}}, docdb.FindOptions{Projection: idOnly, Limit: writeBatch}, &missing)
		if err != nil {
			return fmt.Errorf("find users without a person: %w", err)
		}
		if len(missing) == 0 {
			return nil
		}
		first, err := s.nextIDs(ctx, personCounter, len(missing))
		if err != nil {
			return err
		}
		writes := make([]docdb.Write, len(missing))
		for i, u := range missing {
			// The filter keeps a person given meanwhile by another gateway.
			writes[i] = docdb.Write{
				Filter: bson.D{{Key: "_id", Value: u.ID}, {Key: "person", Value: nil}},
				Update: bson.D{{Key: "$set", Value: bson.D{{Key: "person", Value: int64(first) + int64(i)}}}},
			}
		}
		if _, err := s.bulkWrite(ctx, s.users(), writes); err != nil {
			return fmt.Errorf("give users a person: %w", err)
		}
	}
}

// assignPersons gives every new user that has no person id the next one of
// the person counter, and first moves the counter past the ids imported
// users bring, so that no two users ever share a person.
func (s *Store) assignPersons(ctx context.Context, users []NewUser) error {
	var missing int
	var imported int64
	for i := range users {
		if users[i].Person == nil {
			missing++
		} else {
			imported = max(imported, *users[i].Person)
		}
	}
	if imported > 0 {
		if err := s.counterAtLeast(ctx, personCounter, imported); err != nil {
			return err
		}
	}
	if missing == 0 {
		return nil
	}
	first, err := s.nextIDs(ctx, personCounter, missing)
	if err != nil {
		return err
	}
	next := int64(first)
	for i := range users {
		if users[i].Person == nil {
			person := next
			users[i].Person = &person
			next++
		}
	}
	return nil
}

// CreateUsers stores many new users at once, for seeding and imports: one
// counter update reserves every id, then one insert writes them all.
func (s *Store) CreateUsers(ctx context.Context, users []NewUser) ([]ID, error) {
	users = slices.Clone(users)
	for i := range users {
		users[i].Username = normalizeUsername(users[i].Username)
	}
	v := &fault.FieldErrors{}
	for i := range users {
		if err := users[i].validate(); err != nil {
			v.Add(fault.NonField, fmt.Sprintf("user %d (%s): %v", i, users[i].Username, err))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, nil
	}
	var roles []ID
	for i := range users {
		roles = append(roles, users[i].RoleIDs...)
	}
	if err := checkIDsExist(ctx, s.roles(), "roles", uniqueIDs(roles)); err != nil {
		return nil, err
	}
	if err := s.assignPersons(ctx, users); err != nil {
		return nil, err
	}
	first, err := s.nextIDs(ctx, colUsers, len(users))
	if err != nil {
		return nil, err
	}
	now := s.nowUTC()
	ids := make([]ID, len(users))
	docs := make([]userDoc, len(users))
	for i := range users {
		ids[i] = first + ID(i)
		docs[i] = users[i].document(ids[i], now)
	}
	if err := insertMany(ctx, s.users(), docs); err != nil {
		if isDuplicateKey(err) {
			return nil, fault.Field(fault.NonField, "Some of these users conflict with existing ones (username or email).")
		}
		return nil, err
	}
	return ids, nil
}
