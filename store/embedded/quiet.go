package embedded

import (
	"context"
	"log/slog"
	"slices"
	"strings"
)

// quietHandler is the slog.Handler FerretDB logs through. It passes on
// warnings and errors only, minus the records that can quote documents.
//
// What FerretDB v1.24.2 logs (internal/clientconn, internal/handler,
// internal/backends/sqlite, internal/util/fsql):
//   - Debug: every request and response in full, and every SQL statement
//     with its arguments (the documents). Never passed on.
//   - Info: connections started and stopped, listener start and stop.
//     Never passed on.
//   - Warn: the full response to every command that fails (ok: 0), logged
//     by clientconn's logResponse as "Response header: ..." and "Response
//     message: ...". The error messages in it can quote values: an update
//     error names the document's _id ("... {_id: "..."} has the field ..."),
//     and Gatehouse's _ids are token digests. Dropped: the driver returns
//     the same error to the caller, which decides what to log.
//   - Error: the same dump when a connection is closed on an unhandled
//     opcode. Dropped likewise.
//   - Error+1 (FerretDB's DPanic): a panic recovered while serving a
//     connection, with the panic value as the message; the value can quote
//     data, so the message is replaced and the record kept.
//   - Warn and Error otherwise: connections that stop on an error, accept
//     and SQLite file errors, SASL failures (with the user name),
//     listDatabases failures. These carry error strings, paths, addresses
//     and user names, no documents. Passed on.
//
// FerretDB also derives loggers with With for every SQL statement, the
// statement's arguments among the attributes (internal/util/fsql). slog's
// own handlers format such attributes eagerly in WithAttrs, whatever the
// level: documents would be formatted for nothing on every query. So this
// handler only records With and WithGroup calls and applies them to the
// next handler when a record actually gets through, which is rare.
type quietHandler struct {
	next slog.Handler
	ops  []handlerOp // With and WithGroup calls not yet applied to next, in order
}

// handlerOp is one deferred WithGroup (group set) or WithAttrs call.
type handlerOp struct {
	group string
	attrs []slog.Attr
}

// ferretPanicLevel is FerretDB's DPanic level (logging.LevelDPanic), used
// for recovered panics.
const ferretPanicLevel = slog.LevelError + 1

func newQuietHandler(next slog.Handler) *quietHandler {
	return &quietHandler{next: next}
}

func (h *quietHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.next.Enabled(ctx, level)
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn { // slog.Logger asks Enabled first; a direct caller might not
		return nil
	}

	if dumpsWireMessage(r.Message) {
		return nil
	}

	if r.Level >= ferretPanicLevel {
		withheld := slog.NewRecord(r.Time, r.Level,
			"ferretdb: recovered a panic while serving a connection (panic value withheld: it may quote documents)", r.PC)
		r.Attrs(func(a slog.Attr) bool {
			withheld.AddAttrs(a)
			return true
		})
		r = withheld
	}

	next := h.next
	for _, op := range h.ops {
		if op.group != "" {
			next = next.WithGroup(op.group)
		} else {
			next = next.WithAttrs(op.attrs)
		}
	}

	return next.Handle(ctx, r)
}

func (h *quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}

	return &quietHandler{next: h.next, ops: append(slices.Clip(h.ops), handlerOp{attrs: attrs})}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}

	return &quietHandler{next: h.next, ops: append(slices.Clip(h.ops), handlerOp{group: name})}
}

// dumpsWireMessage reports whether msg is one in which FerretDB dumps a
// wire message (clientconn's logResponse and its diff modes).
func dumpsWireMessage(msg string) bool {
	for _, p := range []string{
		"Response header: ",
		"Response message:",
		"Proxy response header: ",
		"Proxy response message:",
		"Header diff:",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}

	return false
}
