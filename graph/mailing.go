package graph

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

func (r *Resolver) listTags(ctx context.Context, f *store.LabelFilter, args pageArgs) (*model.TagConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountTags(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Tag, error) { return r.Store.FindTags(ctx, f, pg) },
		func(c string, n *store.Tag) model.TagEdge { return model.TagEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.TagConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

func (r *Resolver) listOperatorCodes(ctx context.Context, f *store.LabelFilter, args pageArgs) (*model.OperatorCodeConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountOperatorCodes(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.OperatorCode, error) {
			return r.Store.FindOperatorCodes(ctx, f, pg)
		},
		func(c string, n *store.OperatorCode) model.OperatorCodeEdge {
			return model.OperatorCodeEdge{Cursor: c, Node: n}
		})
	if err != nil {
		return nil, err
	}
	return &model.OperatorCodeConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

func (r *Resolver) listClients(ctx context.Context, f *store.ClientFilter, args pageArgs) (*model.ClientConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountClients(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Client, error) {
			return r.Store.FindClients(ctx, f, pg)
		},
		func(c string, n *store.Client) model.ClientEdge { return model.ClientEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.ClientConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

func (r *Resolver) listMailings(ctx context.Context, f *store.MailingFilter, args pageArgs) (*model.MailingConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountMailings(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Mailing, error) {
			return r.Store.FindMailings(ctx, f, pg)
		},
		func(c string, n *store.Mailing) model.MailingEdge { return model.MailingEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.MailingConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

func (r *Resolver) listMessages(ctx context.Context, f *store.MessageFilter, args pageArgs) (*model.MessageConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountMessages(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Message, error) {
			return r.Store.FindMessages(ctx, f, pg)
		},
		func(c string, n *store.Message) model.MessageEdge { return model.MessageEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.MessageConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

// mailingsStatsLimit bounds mailingsStats: it answers one object per mailing.
const mailingsStatsLimit = 1000

// statsOf turns the store's counts into the GraphQL statistics of mailings.
func statsOf(m *store.Mailing, st *store.MailingStats) *model.MailingStats {
	if st == nil {
		st = &store.MailingStats{MailingID: m.ID, ByStatus: map[store.MessageStatus]int{}}
	}
	return &model.MailingStats{
		Mailing: m,
		Total:   st.Total,
		Pending: st.Count(store.MessagePending),
		Sending: st.Count(store.MessageSending),
		Sent:    st.Count(store.MessageSent),
		Failed:  st.Count(store.MessageFailed),
		Expired: st.Count(store.MessageExpired),
	}
}

func (r *Resolver) mailingStats(ctx context.Context, m *store.Mailing) (*model.MailingStats, error) {
	stats, err := r.Store.Stats(ctx, []store.ID{m.ID})
	if err != nil {
		return nil, err
	}
	return statsOf(m, stats[m.ID]), nil
}

func (r *Resolver) mailingsStats(ctx context.Context, f *store.MailingFilter) ([]model.MailingStats, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	mailings, err := r.Store.FindMailings(ctx, f, store.Page{Limit: mailingsStatsLimit})
	if err != nil {
		return nil, err
	}
	ids := make([]store.ID, len(mailings))
	for i, m := range mailings {
		ids[i] = m.ID
	}
	stats, err := r.Store.Stats(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]model.MailingStats, len(mailings))
	for i := range mailings {
		out[i] = *statsOf(&mailings[i], stats[mailings[i].ID])
	}
	return out, nil
}

func mailingInput(in model.MailingInput) store.MailingInput {
	return store.MailingInput{Text: in.Text, Start: in.StartNotificationDate, End: in.EndNotificationDate, Tags: in.Tags, Codes: in.Codes, Window: in.Window}
}

func mailingUpdate(in model.UpdateMailingInput) store.MailingUpdate {
	u := store.MailingUpdate{Text: in.Text, Start: in.StartNotificationDate, End: in.EndNotificationDate, Tags: in.Tags, Codes: in.Codes}
	if w, set := in.Window.ValueOK(); set {
		if w == nil {
			u.ClearWindow = true
		} else {
			u.Window = w
		}
	}
	return u
}

// moveMailing changes a mailing's status on an operator's word, recording who.
func (r *Resolver) moveMailing(ctx context.Context, id store.ID, move store.MailingMove) (*store.Mailing, error) {
	reason := fmt.Sprintf("%s by %s", move.Verb, auth.CallerFrom(ctx).Username)
	return r.Store.MoveMailing(ctx, id, move, reason)
}

func isSet(b *bool) bool { return b != nil && *b }

// deleted answers a delete mutation: the id of what was deleted.
func deleted(id store.ID, err error) (store.ID, error) {
	if err != nil {
		return 0, err
	}
	return id, nil
}
