package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Tags and operator codes are both a unique short string with an id; this
// file holds what they share.

const maxLabel = 50

// label is a tag's name or an operator code's code.
type label struct {
	coll      string
	field     string // "name" or "code"
	clientKey string // the client field that refers to it
	taken     string // Django's uniqueness message
}

var (
	tagLabel  = label{coll: colTags, field: "name", clientKey: "tag", taken: "tag with this name already exists."}
	codeLabel = label{coll: colCodes, field: "code", clientKey: "mobile_operator_code", taken: "operator code with this code already exists."}
)

func (l label) validate(value string) error {
	v := &fault.FieldErrors{}
	switch {
	case strings.TrimSpace(value) == "":
		v.Add(l.field, msgBlank)
	case utf8.RuneCountInString(value) > maxLabel:
		v.Add(l.field, msgMaxLength(maxLabel))
	}
	return v.Err()
}

// create stores a new label document made by build.
func (l label) create(ctx context.Context, s *Store, value string, build func(ID) any) error {
	if err := l.validate(value); err != nil {
		return err
	}
	_, err := s.insertWithNewID(ctx, l.coll, build)
	if isDuplicateKey(err) {
		return fault.Field(l.field, l.taken)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", l.coll, err)
	}
	return nil
}

func (l label) rename(ctx context.Context, s *Store, id ID, value string) error {
	if err := l.validate(value); err != nil {
		return err
	}
	res, err := s.Collection(l.coll).UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: bson.D{{Key: l.field, Value: value}}}}, false)
	if isDuplicateKey(err) {
		return fault.Field(l.field, l.taken)
	}
	if err != nil {
		return fmt.Errorf("update %s %s: %w", l.coll, id, err)
	}
	if res.Matched == 0 {
		return ErrNotFound
	}
	return nil
}

// remove deletes a label. Clients that use it are deleted with it (and
// their messages) only when cascade is set; otherwise the delete is refused.
func (l label) remove(ctx context.Context, s *Store, id ID, cascade bool) error {
	if err := findByID(ctx, s.Collection(l.coll), id, &bson.D{}); err != nil {
		return err
	}
	users := bson.D{{Key: l.clientKey, Value: id}}
	n, err := count(ctx, s.clients(), users)
	if err != nil {
		return err
	}
	if n > 0 && !cascade {
		return fault.New(fault.Conflict, fmt.Sprintf("%d clients use this %s; delete them first, or delete with cascade.", n, strings.ReplaceAll(l.clientKey, "_", " ")))
	}
	if n > 0 {
		if err := s.deleteClientsWhere(ctx, users); err != nil {
			return err
		}
	}
	if _, err := s.Collection(l.coll).DeleteOne(ctx, byID(id)); err != nil {
		return fmt.Errorf("delete %s %s: %w", l.coll, id, err)
	}
	return nil
}

// findByID decodes one document by id (an ID, or a string key). Errors:
// ErrNotFound, ErrUnavailable.
func findByID(ctx context.Context, coll docdb.Collection, id any, out any) error {
	err := coll.FindOne(ctx, byID(id), docdb.FindOptions{}, out)
	if errors.Is(err, docdb.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("find %s %s: %w", coll.Name(), id, err)
	}
	return nil
}

// Tag labels clients ("vip"); mailings pick clients by tag name.
type Tag struct {
	ID   ID     `bson:"_id"`
	Name string `bson:"name"`
}

// OperatorCode is a mobile operator's code ("916"); mailings pick clients
// by it.
type OperatorCode struct {
	ID   ID     `bson:"_id"`
	Code string `bson:"code"`
}

// CreateTag stores a tag. Errors: fault.Invalid (blank, too long, taken).
func (s *Store) CreateTag(ctx context.Context, name string) (*Tag, error) {
	var t Tag
	err := tagLabel.create(ctx, s, name, func(id ID) any { t = Tag{ID: id, Name: name}; return t })
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// RenameTag changes a tag's name. Errors: ErrNotFound, fault.Invalid.
func (s *Store) RenameTag(ctx context.Context, id ID, name string) (*Tag, error) {
	if err := tagLabel.rename(ctx, s, id, name); err != nil {
		return nil, err
	}
	return s.TagByID(ctx, id)
}

// DeleteTag deletes a tag; see label.remove for its clients.
func (s *Store) DeleteTag(ctx context.Context, id ID, cascade bool) error {
	return tagLabel.remove(ctx, s, id, cascade)
}

// TagByID returns one tag. Errors: ErrNotFound.
func (s *Store) TagByID(ctx context.Context, id ID) (*Tag, error) {
	var t Tag
	if err := findByID(ctx, s.Collection(colTags), id, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// LabelFilter selects tags by name or operator codes by code.
type LabelFilter struct {
	IDs   []ID
	Value *StringLookup
}

// Values counts the values the filter holds: each lookup given, each item
// of its lists.
func (f *LabelFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + f.Value.Values()
}

func (f *LabelFilter) document(field string) bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	if f.IDs != nil {
		and = append(and, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(f.IDs)}}}})
	}
	and = append(and, f.Value.conditions(field)...)
	return allOf(and)
}

// FindTags returns matching tags in id order.
func (s *Store) FindTags(ctx context.Context, f *LabelFilter, page Page) ([]Tag, error) {
	return findPage[Tag](ctx, s.Collection(colTags), f.document("name"), page)
}

// CountTags counts matching tags.
func (s *Store) CountTags(ctx context.Context, f *LabelFilter) (int, error) {
	return count(ctx, s.Collection(colTags), f.document("name"))
}

// CreateOperatorCode stores an operator code. Errors: fault.Invalid.
func (s *Store) CreateOperatorCode(ctx context.Context, code string) (*OperatorCode, error) {
	var c OperatorCode
	err := codeLabel.create(ctx, s, code, func(id ID) any { c = OperatorCode{ID: id, Code: code}; return c })
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ChangeOperatorCode changes a code. Errors: ErrNotFound, fault.Invalid.
func (s *Store) ChangeOperatorCode(ctx context.Context, id ID, code string) (*OperatorCode, error) {
	if err := codeLabel.rename(ctx, s, id, code); err != nil {
		return nil, err
	}
	return s.OperatorCodeByID(ctx, id)
}

// DeleteOperatorCode deletes a code; see label.remove for its clients.
func (s *Store) DeleteOperatorCode(ctx context.Context, id ID, cascade bool) error {
	return codeLabel.remove(ctx, s, id, cascade)
}

// OperatorCodeByID returns one code. Errors: ErrNotFound.
func (s *Store) OperatorCodeByID(ctx context.Context, id ID) (*OperatorCode, error) {
	var c OperatorCode
	if err := findByID(ctx, s.Collection(colCodes), id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// FindOperatorCodes returns matching codes in id order.
func (s *Store) FindOperatorCodes(ctx context.Context, f *LabelFilter, page Page) ([]OperatorCode, error) {
	return findPage[OperatorCode](ctx, s.Collection(colCodes), f.document("code"), page)
}

// CountOperatorCodes counts matching codes.
func (s *Store) CountOperatorCodes(ctx context.Context, f *LabelFilter) (int, error) {
	return count(ctx, s.Collection(colCodes), f.document("code"))
}

// labelIDs maps tag names or codes to their ids, naming those that do not
// exist under field.
func (s *Store) labelIDs(ctx context.Context, l label, field string, values []string) ([]ID, error) {
	if len(values) == 0 {
		return nil, nil
	}
	var rows []struct {
		ID   ID     `bson:"_id"`
		Name string `bson:"name"`
		Code string `bson:"code"`
	}
	if err := s.Collection(l.coll).Find(ctx, bson.D{{Key: l.field, Value: bson.D{{Key: "$in", Value: values}}}}, docdb.FindOptions{}, &rows); err != nil {
		return nil, fmt.Errorf("find %s: %w", l.coll, err)
	}
	found := map[string]ID{}
	for _, r := range rows {
		found[r.Name+r.Code] = r.ID // a document has one of the two
	}
	v := &fault.FieldErrors{}
	ids := make([]ID, 0, len(values))
	for _, val := range values {
		id, ok := found[val]
		if !ok {
			v.Add(field, fmt.Sprintf("%q does not exist.", val))
			continue
		}
		ids = append(ids, id)
	}
	return uniqueIDs(ids), v.Err()
}
