package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Statements are prepared once and kept: parsing SQL costs more than
// running the small statements the store sends. The texts come from the
// store's own queries, so they are few; a bound keeps an unusual caller
// (many IN lists of different lengths) from growing the cache without end.
const maxCachedStatements = 512

// stmtCache keeps prepared statements by their text.
type stmtCache struct {
	mu     sync.Mutex
	byText map[string]*sql.Stmt
}

// get returns the statement for text, preparing it with prepare when it is
// not kept yet; cached tells the caller not to close it.
func (c *stmtCache) get(ctx context.Context, text string, prepare func(context.Context, string) (*sql.Stmt, error)) (st *sql.Stmt, cached bool, err error) {
	c.mu.Lock()
	st = c.byText[text]
	c.mu.Unlock()
	if st != nil {
		return st, true, nil
	}
	if st, err = prepare(ctx, text); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byText == nil {
		c.byText = map[string]*sql.Stmt{}
	}
	if kept := c.byText[text]; kept != nil {
		_ = st.Close()
		return kept, true, nil
	}
	if len(c.byText) >= maxCachedStatements {
		return st, false, nil
	}
	c.byText[text] = st
	return st, true, nil
}

// withStmt runs use on the statement for text: the kept one, or one
// prepared for this use alone (rows read from it keep it open until they
// are closed, as database/sql tracks).
func withStmt[T any](ctx context.Context, c *stmtCache, prepare func(context.Context, string) (*sql.Stmt, error), text string, use func(*sql.Stmt) (T, error)) (T, error) {
	st, cached, err := c.get(ctx, text, prepare)
	if err != nil {
		var zero T
		return zero, err
	}
	if !cached {
		defer st.Close()
	}
	return use(st)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.byText {
		_ = st.Close()
	}
	c.byText = nil
}

// runner runs statements: on the read pool, or inside the write
// transaction.
type runner interface {
	QueryContext(ctx context.Context, text string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, text string, args ...any) (sql.Result, error)
}

// reader runs statements on the read pool (database/sql prepares a kept
// statement on each connection as it first needs it).
type reader struct{ d *DB }

func (r reader) QueryContext(ctx context.Context, text string, args ...any) (*sql.Rows, error) {
	return withStmt(ctx, &r.d.readStmts, r.d.read.PrepareContext, text, func(st *sql.Stmt) (*sql.Rows, error) {
		return st.QueryContext(ctx, args...)
	})
}

func (r reader) ExecContext(context.Context, string, ...any) (sql.Result, error) {
	return nil, fmt.Errorf("a write on the read pool")
}

// writer is the one connection that writes, held for one transaction.
// Transactions are begun and ended with plain statements (BEGIN IMMEDIATE
// takes SQLite's write lock at once, so a transaction never fails on a lock
// halfway), which lets prepared statements live on the connection across
// transactions.
type writer struct {
	slot      chan struct{} // one transaction at a time in this process
	closed    chan struct{}
	closeOnce sync.Once
	conn      *sql.Conn
	stmts     stmtCache
}

// errClosed answers writes after Close.
var errClosed = errors.New("sql: database is closed")

func newWriter(ctx context.Context, pool *sql.DB) (*writer, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &writer{slot: make(chan struct{}, 1), closed: make(chan struct{}), conn: conn}, nil
}

func (w *writer) QueryContext(ctx context.Context, text string, args ...any) (*sql.Rows, error) {
	return withStmt(ctx, &w.stmts, w.conn.PrepareContext, text, func(st *sql.Stmt) (*sql.Rows, error) {
		return st.QueryContext(ctx, args...)
	})
}

func (w *writer) ExecContext(ctx context.Context, text string, args ...any) (sql.Result, error) {
	return withStmt(ctx, &w.stmts, w.conn.PrepareContext, text, func(st *sql.Stmt) (sql.Result, error) {
		return st.ExecContext(ctx, args...)
	})
}

// tx runs fn in a transaction, waiting for the connection at most until
// ctx ends.
func (w *writer) tx(ctx context.Context, fn func(runner) error) error {
	select {
	case <-w.closed:
		return errClosed
	default:
	}
	select {
	case w.slot <- struct{}{}:
	case <-w.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slot }()
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(w); err != nil {
		w.rollback()
		return err
	}
	if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
		w.rollback()
		return err
	}
	return nil
}

// rollback ends a failed transaction, whatever became of the caller's
// context.
func (w *writer) rollback() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*1e9)
	defer cancel()
	_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
}

// close waits for the transaction under way, then closes the connection;
// later transactions fail at once. It may be called more than once.
func (w *writer) close() error {
	var err error
	w.closeOnce.Do(func() {
		w.slot <- struct{}{} // held for good: no transaction starts after
		close(w.closed)
		w.stmts.close()
		err = w.conn.Close()
	})
	return err
}
