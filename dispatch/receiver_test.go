package dispatch_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is the one recording webhook every test sends to. It checks
// each call's shape (the legacy body, the id in the path and in
// Idempotency-Key), honours the idempotency key (a repeated id is
// acknowledged, not delivered again), and answers as the test's behave
// function says: a status, a Retry-After, a delay, or a dropped connection
// after committing.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	behave func(c call) answer

	mu        sync.Mutex
	calls     []call          // every call, in arrival order
	delivered map[int64]int64 // id -> phone, first accepted delivery
	texts     map[int64]string
}

// call is one request as the receiver saw it.
type call struct {
	N     int // 0-based arrival index
	ID    int64
	Phone int64
	Text  string
	At    time.Time
	Auth  string
	Key   string
	Try   int // 1 for the first call with this id
	// Dup tells that the id had been accepted before this call arrived.
	Dup bool
}

// answer is what the receiver does with a call.
type answer struct {
	Status     int
	RetryAfter string
	Delay      time.Duration
	// Drop commits the message, then closes the connection unanswered.
	Drop bool
}

func ok() answer { return answer{Status: http.StatusOK} }

func newReceiver(t testing.TB, behave func(c call) answer) *receiver {
	r := &receiver{t: t, behave: behave, delivered: map[int64]int64{}, texts: map[int64]string{}}
	if r.behave == nil {
		r.behave = func(call) answer { return ok() }
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// url is the webhook address, with the message id in the path as the
// legacy API had it.
func (r *receiver) url() string { return r.srv.URL + "/send/{id}" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	var body struct {
		ID    json.Number `json:"id"`
		Phone json.Number `json:"phone"`
		Text  *string     `json:"text"`
	}
	dec := json.NewDecoder(req.Body)
	dec.UseNumber()
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || dec.Decode(&body) != nil || body.Text == nil {
		r.t.Errorf("malformed call: %s %s", req.Method, req.URL)
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	_, _ = io.Copy(io.Discard, req.Body) // so the server notices a client that gives up
	id, err1 := strconv.ParseInt(string(body.ID), 10, 64)
	phone, err2 := strconv.ParseInt(string(body.Phone), 10, 64)
	if err1 != nil || err2 != nil || req.URL.Path != "/send/"+string(body.ID) || req.Header.Get("Idempotency-Key") != string(body.ID) {
		r.t.Errorf("id and phone must be numbers, the id in the path and the key: %s %v %v %q", req.URL.Path, body.ID, body.Phone, req.Header.Get("Idempotency-Key"))
	}
	r.mu.Lock()
	c := call{N: len(r.calls), ID: id, Phone: phone, Text: *body.Text, At: time.Now(), Auth: req.Header.Get("Authorization"), Key: req.Header.Get("Idempotency-Key")}
	for _, prev := range r.calls {
		if prev.ID == id {
			c.Try++
		}
	}
	c.Try++
	_, c.Dup = r.delivered[id]
	r.calls = append(r.calls, c)
	r.mu.Unlock()

	a := r.behave(c)
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-req.Context().Done():
			return
		}
	}
	if a.Status >= 200 && a.Status < 300 || a.Drop {
		r.mu.Lock()
		if _, dup := r.delivered[id]; !dup {
			r.delivered[id] = phone
			r.texts[id] = c.Text
		}
		r.mu.Unlock()
	}
	if a.Drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write([]byte(`{"status":` + strconv.Itoa(a.Status) + `}`))
}

// deliveredCount is how many distinct messages were accepted.
func (r *receiver) deliveredCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.delivered)
}

// snapshot returns a copy of every call so far.
func (r *receiver) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// acceptedTwice counts calls that carried an id already accepted: the
// duplicates a receiver that ignored the idempotency key would deliver.
func (r *receiver) acceptedTwice() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.Dup {
			n++
		}
	}
	return n
}

func (r *receiver) textOf(id int64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.texts[id]
}

func (r *receiver) phones() map[int64]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]int64, len(r.delivered))
	for k, v := range r.delivered {
		out[k] = v
	}
	return out
}

// maxInWindow is the most calls that arrived within any window of length w.
func maxInWindow(calls []call, w time.Duration) int {
	times := make([]time.Time, len(calls))
	for i, c := range calls {
		times[i] = c.At
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= w {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
