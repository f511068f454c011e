package auth

// Error is an authentication failure the client is allowed to see. Message
// is the exact text DRF's TokenAuthentication puts in {"detail": ...}, so
// legacy clients that match on it keep working; the HTTP layer answers it
// with 401 and "WWW-Authenticate: Token" (see WWWAuthenticate). Any other
// error from this package is a server fault whose text must not reach the
// client.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is match any *Error with the same message, so a
// CallerLookup may return a sentinel, a wrapped sentinel or a fresh
// &Error{Message: "Invalid token."} and callers still recognise it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && e.Message == t.Message
}

// WWWAuthenticate is the challenge DRF sends with every 401 from token
// authentication (TokenAuthentication.authenticate_header).
const WWWAuthenticate = "Token"

// The failures DRF's TokenAuthentication reports, word for word. They are
// read-only sentinels, compared with errors.Is; never modify them.
var (
	ErrNoCredentials     = &Error{Message: "Invalid token header. No credentials provided."}
	ErrTokenHasSpaces    = &Error{Message: "Invalid token header. Token string should not contain spaces."}
	ErrTokenInvalidChars = &Error{Message: "Invalid token header. Token string should not contain invalid characters."}
	ErrInvalidToken      = &Error{Message: "Invalid token."}
	// ErrManyHeaders is Gatehouse's own: DRF read whichever header its
	// server kept. A request with two Authorization headers is refused
	// rather than read, since a proxy that reads the last one and a
	// gateway that reads the first would disagree about who is calling.
	ErrManyHeaders  = &Error{Message: "Invalid token header. Send one Authorization header."}
	ErrUserInactive = &Error{Message: "User inactive or deleted."}
)
