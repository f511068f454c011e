package dispatch

import (
	"context"
	"log/slog"
)

// Log is the default sender: it delivers nothing and writes one structured
// line per message. The line names the message, its mailing and the phone,
// never the text (it may be personal) nor anything else.
type Log struct {
	logger *slog.Logger
}

var _ Sender = (*Log)(nil)

// NewLog returns a log sender writing to logger (nil: slog.Default()).
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{logger: logger}
}

// Send logs the message and reports it sent.
func (l *Log) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.logger.LogAttrs(ctx, slog.LevelInfo, "message sent",
		slog.String("message", m.ID.String()),
		slog.String("mailing", m.MailingID.String()),
		slog.String("phone", m.Phone))
	return nil
}
