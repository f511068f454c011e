package store

import (
	"context"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Client is a mailing recipient.
type Client struct {
	ID ID `bson:"_id"`
	// PhoneNumber is 7 and ten digits: 79161234567.
	PhoneNumber string `bson:"phone_number"`
	// OperatorCodeID and TagID refer to an operator code and a tag.
	OperatorCodeID ID `bson:"mobile_operator_code"`
	TagID          ID `bson:"tag"`
	// Timezone is an IANA name; a mailing's sending window is in it.
	Timezone string `bson:"timezone"`
}

// ClientInput is what creating or replacing a client takes.
type ClientInput struct {
	PhoneNumber    string
	OperatorCodeID ID
	TagID          ID
	Timezone       string
}

// ClientUpdate changes the fields that are set.
type ClientUpdate struct {
	PhoneNumber    *string
	OperatorCodeID *ID
	TagID          *ID
	Timezone       *string
}

var clientPhonePattern = regexp.MustCompile(`^7[0-9]{10}$`)

// The client model's maxima (the mailing service's max_length).
const (
	maxClientPhone = 11
	maxTimezone    = 50
)

func validateClientPhone(v *fault.FieldErrors, phone string) {
	switch {
	case utf8.RuneCountInString(phone) > maxClientPhone:
		v.Add("phone_number", msgMaxLength(maxClientPhone))
	case !clientPhonePattern.MatchString(phone):
		v.Add("phone_number", "Enter a phone number of 11 digits starting with 7 (7XXXXXXXXXX).")
	}
}

// ValidTimezone tells whether name is an IANA time zone Go knows.
func ValidTimezone(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > maxTimezone || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

func validateTimezone(v *fault.FieldErrors, tz string) {
	switch {
	case utf8.RuneCountInString(tz) > maxTimezone:
		v.Add("timezone", msgMaxLength(maxTimezone))
	case !ValidTimezone(tz):
		v.Add("timezone", fmt.Sprintf("%q is not a known time zone (an IANA name such as Europe/Moscow).", tz))
	}
}

// checkClientRefs refuses a code or tag id that names nothing, as DRF words it.
func (s *Store) checkClientRefs(ctx context.Context, code, tag *ID) error {
	v := &fault.FieldErrors{}
	for _, ref := range []struct {
		id    *ID
		coll  string
		field string
	}{{code, colCodes, "mobile_operator_code"}, {tag, colTags, "tag"}} {
		if ref.id == nil {
			continue
		}
		taken, err := s.idTaken(ctx, s.Collection(ref.coll), *ref.id)
		if err != nil {
			return err
		}
		if !taken {
			v.Add(ref.field, fmt.Sprintf("Invalid pk \"%s\" - object does not exist.", *ref.id))
		}
	}
	return v.Err()
}

// CreateClient stores a client. Errors: fault.Invalid (bad phone or
// time zone, unknown code or tag).
func (s *Store) CreateClient(ctx context.Context, in ClientInput) (*Client, error) {
	v := &fault.FieldErrors{}
	validateClientPhone(v, in.PhoneNumber)
	validateTimezone(v, in.Timezone)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkClientRefs(ctx, &in.OperatorCodeID, &in.TagID); err != nil {
		return nil, err
	}
	var c Client
	_, err := s.insertWithNewID(ctx, colClients, func(id ID) any {
		c = Client{ID: id, PhoneNumber: in.PhoneNumber, OperatorCodeID: in.OperatorCodeID, TagID: in.TagID, Timezone: in.Timezone}
		return c
	})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &c, nil
}

// UpdateClient changes a client. Errors: ErrNotFound, fault.Invalid.
func (s *Store) UpdateClient(ctx context.Context, id ID, u ClientUpdate) (*Client, error) {
	v := &fault.FieldErrors{}
	if u.PhoneNumber != nil {
		validateClientPhone(v, *u.PhoneNumber)
	}
	if u.Timezone != nil {
		validateTimezone(v, *u.Timezone)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkClientRefs(ctx, u.OperatorCodeID, u.TagID); err != nil {
		return nil, err
	}
	set := bson.D{}
	if u.PhoneNumber != nil {
		set = append(set, bson.E{Key: "phone_number", Value: *u.PhoneNumber})
	}
	if u.OperatorCodeID != nil {
		set = append(set, bson.E{Key: "mobile_operator_code", Value: *u.OperatorCodeID})
	}
	if u.TagID != nil {
		set = append(set, bson.E{Key: "tag", Value: *u.TagID})
	}
	if u.Timezone != nil {
		set = append(set, bson.E{Key: "timezone", Value: *u.Timezone})
	}
	if len(set) > 0 {
		res, err := s.clients().UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}}, false)
		if err != nil {
			return nil, fmt.Errorf("update client %s: %w", id, err)
		}
		if res.Matched == 0 {
			return nil, ErrNotFound
		}
	}
	return s.ClientByID(ctx, id)
}

// DeleteClient deletes a client and their messages. Errors: ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id ID) error {
	if _, err := s.ClientByID(ctx, id); err != nil {
		return err
	}
	return s.deleteClientsWhere(ctx, byID(id))
}

// writeBatch bounds the documents one write touches, so no one write holds
// the store for long.
const writeBatch = 500

// deleteClientsWhere deletes matching clients and their messages (messages
// first: a message never outlives its client's deletion).
func (s *Store) deleteClientsWhere(ctx context.Context, filter bson.D) error {
	ids, err := s.clientIDs(ctx, filter)
	if err != nil {
		return err
	}
	for start := 0; start < len(ids); start += writeBatch {
		chunk := idKeys(ids[start:min(start+writeBatch, len(ids))])
		if _, err := s.messages().DeleteMany(ctx, bson.D{{Key: "client", Value: bson.D{{Key: "$in", Value: chunk}}}}); err != nil {
			return fmt.Errorf("delete messages of clients: %w", err)
		}
		if _, err := s.clients().DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}}); err != nil {
			return fmt.Errorf("delete clients: %w", err)
		}
	}
	return nil
}

func (s *Store) clientIDs(ctx context.Context, filter bson.D) ([]ID, error) {
	var rows []struct {
		ID ID `bson:"_id"`
	}
	if err := s.clients().Find(ctx, filter, docdb.FindOptions{Projection: idOnly}, &rows); err != nil {
		return nil, fmt.Errorf("find clients: %w", err)
	}
	ids := make([]ID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// ClientByID returns one client. Errors: ErrNotFound.
func (s *Store) ClientByID(ctx context.Context, id ID) (*Client, error) {
	var c Client
	if err := findByID(ctx, s.clients(), id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ClientFilter selects clients.
type ClientFilter struct {
	IDs             []ID
	TagIDs          []ID
	OperatorCodeIDs []ID
	// PhonePrefix keeps numbers starting with it.
	PhonePrefix *string
	Timezone    *string
}

// Values counts the values the filter holds: each one given, each item
// of its lists.
func (f *ClientFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + len(f.TagIDs) + len(f.OperatorCodeIDs) + given(f.PhonePrefix, f.Timezone)
}

func (f *ClientFilter) document() bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	in := func(field string, ids []ID) {
		if ids != nil {
			and = append(and, bson.D{{Key: field, Value: bson.D{{Key: "$in", Value: idKeys(ids)}}}})
		}
	}
	in("_id", f.IDs)
	in("tag", f.TagIDs)
	in("mobile_operator_code", f.OperatorCodeIDs)
	if f.PhonePrefix != nil {
		and = append(and, bson.D{{Key: "phone_number", Value: regex("^"+literal(*f.PhonePrefix), false)}})
	}
	if f.Timezone != nil {
		and = append(and, bson.D{{Key: "timezone", Value: *f.Timezone}})
	}
	return allOf(and)
}

// FindClients returns matching clients in id order.
func (s *Store) FindClients(ctx context.Context, f *ClientFilter, page Page) ([]Client, error) {
	return findPage[Client](ctx, s.clients(), f.document(), page)
}

// CountClients counts matching clients.
func (s *Store) CountClients(ctx context.Context, f *ClientFilter) (int, error) {
	return count(ctx, s.clients(), f.document())
}

// CreateClients stores many clients in batches (imports, seeding): one
// counter update reserves the ids. References are checked once for all.
func (s *Store) CreateClients(ctx context.Context, in []ClientInput) ([]ID, error) {
	v := &fault.FieldErrors{}
	var codes, tags []ID
	for i, c := range in {
		one := &fault.FieldErrors{}
		validateClientPhone(one, c.PhoneNumber)
		validateTimezone(one, c.Timezone)
		if err := one.Err(); err != nil {
			v.Add(fault.NonField, fmt.Sprintf("client %d: %v", i, err))
		}
		codes, tags = append(codes, c.OperatorCodeID), append(tags, c.TagID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := checkIDsExist(ctx, s.Collection(colCodes), "mobile_operator_code", uniqueIDs(codes)); err != nil {
		return nil, err
	}
	if err := checkIDsExist(ctx, s.Collection(colTags), "tag", uniqueIDs(tags)); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	first, err := s.nextIDs(ctx, colClients, len(in))
	if err != nil {
		return nil, err
	}
	ids := make([]ID, len(in))
	docs := make([]Client, len(in))
	for i, c := range in {
		ids[i] = first + ID(i)
		docs[i] = Client{ID: ids[i], PhoneNumber: c.PhoneNumber, OperatorCodeID: c.OperatorCodeID, TagID: c.TagID, Timezone: c.Timezone}
	}
	if err := insertMany(ctx, s.clients(), docs); err != nil {
		return nil, err
	}
	return ids, nil
}

func (s *Store) clients() docdb.Collection { return s.Collection(colClients) }
