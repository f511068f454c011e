package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// graphql-transport-ws ends every operation with exactly one message: the
// client's complete, or the server's error or complete. gqlgen's websocket
// transport answers a client's complete with a complete of its own, and
// follows an error with a complete. graphql-ws, the client SPAs use,
// releases the operation once for each of those, and when its count of
// operations falls to zero it closes the socket: one unsubscription ends
// every other subscription on the socket. terminalOnce keeps the protocol
// on gqlgen's behalf, dropping what follows an operation's end. It also
// hands every connection to its socket (socket.go), which may close it.
type terminalOnce struct {
	transport.WebsocketImplementation
}

// Accept implements transport.WebsocketImplementation.
func (t terminalOnce) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := t.WebsocketImplementation.Accept(w, r, opts)
	if err != nil {
		return conn, err
	}
	// The legacy graphql-ws protocol answers a client's stop with a
	// complete: gqlgen is right there.
	if conn.Subprotocol() == graphqlTransportWS {
		conn = &terminalOnceConn{WebsocketConn: conn, ended: map[string]bool{}}
	}
	if s := socketFrom(r.Context()); s != nil {
		s.accepted(conn)
	}
	return conn, nil
}

const graphqlTransportWS = "graphql-transport-ws"

// terminalOnceConn watches the operations of one socket.
type terminalOnceConn struct {
	transport.WebsocketConn
	mu sync.Mutex
	// ended holds the operations that have had their terminal message
	// (the client's complete, or the server's error) while gqlgen may yet
	// send another for them.
	ended map[string]bool
}

// frame is what the watch needs of a message.
type frame struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// NextReader reads the client's next message and notes the operations it
// starts and ends.
func (c *terminalOnceConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.WebsocketConn.NextReader()
	if err != nil {
		return typ, r, err
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return typ, nil, err
	}
	var f frame
	if json.Unmarshal(body, &f) == nil && f.ID != "" {
		c.mu.Lock()
		switch f.Type {
		case "subscribe":
			delete(c.ended, f.ID) // a new operation under a reused id
		case "complete":
			c.ended[f.ID] = true
		}
		c.mu.Unlock()
	}
	return typ, bytes.NewReader(body), nil
}

// WriteJSON sends a server message unless its operation has ended.
func (c *terminalOnceConn) WriteJSON(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var f frame
	if json.Unmarshal(body, &f) == nil && f.ID != "" {
		c.mu.Lock()
		ended := c.ended[f.ID]
		switch {
		case ended && f.Type == "complete":
			// gqlgen's last word on an operation that had ended: the
			// operation is over for gqlgen too, and its id is free.
			delete(c.ended, f.ID)
		case f.Type == "error":
			c.ended[f.ID] = true
		}
		c.mu.Unlock()
		if ended {
			return nil
		}
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(body))
}

// SetReadLimit passes the transport's payload limit on.
func (c *terminalOnceConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline passes the transport's pong deadline on.
func (c *terminalOnceConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
