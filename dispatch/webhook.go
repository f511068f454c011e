package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Webhook POSTs each message as JSON, {"id": 17, "phone": 79161234567,
// "text": "..."}, as the legacy showroom sender did (id and phone as
// numbers), to a configured URL in which "{id}" becomes the message id.
//
// Any 2xx means sent. 400 and 422 are permanent failures (the receiver
// refuses this message). 429 waits for its Retry-After. Everything else
// (5xx, other 4xx, timeouts, connection errors) is retried: a wrong URL or
// token is an operator's mistake, and the dispatcher pauses a mailing after
// too many failures in a row before its messages are used up. The message
// id travels in the body, in the URL if asked, and as the Idempotency-Key
// header, so a receiver that committed a message whose answer was lost can
// recognise the retry.
type Webhook struct {
	url     string
	token   string
	timeout time.Duration
	client  *http.Client
}

var _ Sender = (*Webhook)(nil)

// defaultWebhookTimeout bounds one call when nothing else is configured.
const defaultWebhookTimeout = 10 * time.Second

// NewWebhook checks the configuration and returns a webhook sender.
// Errors: no URL, or not an absolute http(s) URL.
func NewWebhook(c SenderConfig) (*Webhook, error) {
	if c.WebhookURL == "" {
		return nil, errors.New("the webhook sender needs a URL (--webhook-url)")
	}
	u, err := url.Parse(strings.ReplaceAll(c.WebhookURL, "{id}", "1"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the webhook URL must be an absolute http or https URL")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultWebhookTimeout
	}
	client := c.HTTPClient
	if client == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 64 // the dispatcher's sends run in parallel
		client = &http.Client{
			Transport: transport,
			// A redirected POST would turn into a GET: report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Webhook{url: c.WebhookURL, token: c.WebhookToken, timeout: timeout, client: client}, nil
}

// webhookBody is the legacy sender's body, fields in its order.
type webhookBody struct {
	ID    int64  `json:"id"`
	Phone int64  `json:"phone"`
	Text  string `json:"text"`
}

// Send POSTs the message and classifies the answer (see Webhook).
func (w *Webhook) Send(ctx context.Context, m Message) error {
	phone, err := strconv.ParseInt(m.Phone, 10, 64)
	if err != nil {
		return Permanent(fmt.Errorf("phone number %q is not a number", m.Phone))
	}
	body, err := json.Marshal(webhookBody{ID: int64(m.ID), Phone: phone, Text: m.Text})
	if err != nil {
		return Permanent(fmt.Errorf("encode message: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.ReplaceAll(w.url, "{id}", m.ID.String()), bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("build webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", m.ID.String())
	req.Header.Set("User-Agent", "gatehouse-dispatch")
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return w.callError(ctx, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// A Retry-After given as an HTTP date is reckoned from the real time.
	return classifyAnswer(resp, snippet, systemClock{}.Now())
}

// callError words a failed call without the URL (which may hold a key).
func (w *Webhook) callError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("webhook did not answer within %s", w.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("webhook call failed: %w", err)
}

func classifyAnswer(resp *http.Response, snippet []byte, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("webhook answered %d %s%s", code, http.StatusText(code), quoteSnippet(snippet))
	switch {
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return Permanent(err)
	case code == http.StatusTooManyRequests:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return RetryAfter(err, d)
		}
	}
	return err
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// quoteSnippet keeps the start of an answer's body for the message's last
// error, printable characters only.
func quoteSnippet(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return ": " + s
}
