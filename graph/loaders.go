package graph

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/gatehouse/gatehouse/store"
)

// loaders batch the store reads of one operation: every reference resolved
// while a page is written costs one read per kind, not one per item.
// They are built per operation and never shared, so nothing one caller
// loads is seen by another.
type loaders struct {
	user       *dataloadgen.Loader[store.ID, *store.User]
	role       *dataloadgen.Loader[store.ID, *store.Role]
	permission *dataloadgen.Loader[store.ID, *store.Permission]
	tag        *dataloadgen.Loader[store.ID, *store.Tag]
	code       *dataloadgen.Loader[store.ID, *store.OperatorCode]
	client     *dataloadgen.Loader[store.ID, *store.Client]
	mailing    *dataloadgen.Loader[store.ID, *store.Mailing]
	stats      *dataloadgen.Loader[store.ID, *store.MailingStats]
}

// byID makes a loader that reads many ids in one store call.
func byID[V any](find func(context.Context, []store.ID) ([]V, error), idOf func(*V) store.ID) *dataloadgen.Loader[store.ID, *V] {
	return dataloadgen.NewLoader(func(ctx context.Context, ids []store.ID) ([]*V, []error) {
		rows, err := find(ctx, ids)
		return lineUp(ids, rows, err, idOf)
	}, dataloadgen.WithWait(batchWait))
}

type loadersKey struct{}

// batchWait is how long a loader collects keys before it reads; resolvers
// of one page run concurrently, so a short wait gathers them all.
const batchWait = 2 * time.Millisecond

func newLoaders(s *store.Store) *loaders {
	return &loaders{
		user:       byID(s.UsersByIDs, func(u *store.User) store.ID { return u.ID }),
		role:       byID(s.RolesByIDs, func(r *store.Role) store.ID { return r.ID }),
		permission: byID(s.PermissionsByIDs, func(p *store.Permission) store.ID { return p.ID }),
		tag: byID(func(ctx context.Context, ids []store.ID) ([]store.Tag, error) {
			return s.FindTags(ctx, &store.LabelFilter{IDs: ids}, store.Page{})
		}, func(t *store.Tag) store.ID { return t.ID }),
		code: byID(func(ctx context.Context, ids []store.ID) ([]store.OperatorCode, error) {
			return s.FindOperatorCodes(ctx, &store.LabelFilter{IDs: ids}, store.Page{})
		}, func(c *store.OperatorCode) store.ID { return c.ID }),
		client: byID(func(ctx context.Context, ids []store.ID) ([]store.Client, error) {
			return s.FindClients(ctx, &store.ClientFilter{IDs: ids}, store.Page{})
		}, func(c *store.Client) store.ID { return c.ID }),
		mailing: byID(func(ctx context.Context, ids []store.ID) ([]store.Mailing, error) {
			return s.FindMailings(ctx, &store.MailingFilter{IDs: ids}, store.Page{})
		}, func(m *store.Mailing) store.ID { return m.ID }),
		// Stats answers every id it is asked about (zeros for a mailing
		// with no message), so no key goes missing.
		stats: dataloadgen.NewLoader(func(ctx context.Context, ids []store.ID) ([]*store.MailingStats, []error) {
			counts, err := s.Stats(ctx, ids)
			values, errs := make([]*store.MailingStats, len(ids)), make([]error, len(ids))
			for i, id := range ids {
				values[i], errs[i] = counts[id], err
			}
			return values, errs
		}, dataloadgen.WithWait(batchWait)),
	}
}

// lineUp puts batch results in the order of the keys, with ErrNotFound for
// each key the store did not return (it returns rows in its own order).
func lineUp[K comparable, V any](keys []K, rows []V, err error, keyOf func(*V) K) ([]*V, []error) {
	values := make([]*V, len(keys))
	errs := make([]error, len(keys))
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return values, errs
	}
	byKey := make(map[K]*V, len(rows))
	for i := range rows {
		byKey[keyOf(&rows[i])] = &rows[i]
	}
	for i, k := range keys {
		if v, ok := byKey[k]; ok {
			values[i] = v
		} else {
			errs[i] = store.ErrNotFound
		}
	}
	return values, errs
}

// withLoaders is an operation middleware that gives each operation its own
// loaders, on HTTP and websocket alike.
func withLoaders(s *store.Store) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(context.WithValue(ctx, loadersKey{}, newLoaders(s)))
	}
}

func loadersFrom(ctx context.Context) *loaders {
	return ctx.Value(loadersKey{}).(*loaders)
}

// loadAll loads many values at once, skipping ids that no longer name
// anything (a role deleted while a page was read): lists show what exists.
func loadAll[V any](ctx context.Context, l *dataloadgen.Loader[store.ID, *V], ids []store.ID) ([]V, error) {
	thunks := make([]func() (*V, error), len(ids))
	for i, id := range ids {
		thunks[i] = l.LoadThunk(ctx, id)
	}
	out := make([]V, 0, len(ids))
	for _, thunk := range thunks {
		v, err := thunk()
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func sortedUnique(ids []store.ID) []store.ID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// nilIfNotFound turns "not found" into a null answer, as single-item
// queries give it.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
