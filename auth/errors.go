package auth

import "github.com/gatehouse/gatehouse/store/fault"

// The failures below are *fault.Error values of code Unauthenticated, whose
// Message is the exact text DRF's TokenAuthentication puts in
// {"detail": ...}, so legacy clients that match on it keep working; the
// edges answer them with 401 and "WWW-Authenticate: Token". Any other error
// from this package is a server fault whose text must not reach the client.
// IsRefusal tells the two apart.

// WWWAuthenticate is the challenge DRF sends with every 401 from token
// authentication (TokenAuthentication.authenticate_header).
const WWWAuthenticate = "Token"

// The failures DRF's TokenAuthentication reports, word for word. They are
// read-only sentinels, compared with errors.Is (which matches any
// *fault.Error of the same code and message); never modify them.
var (
	ErrNoCredentials     = refusal("Invalid token header. No credentials provided.")
	ErrTokenHasSpaces    = refusal("Invalid token header. Token string should not contain spaces.")
	ErrTokenInvalidChars = refusal("Invalid token header. Token string should not contain invalid characters.")
	ErrInvalidToken      = refusal("Invalid token.")
	// ErrManyHeaders is Gatehouse's own: DRF read whichever header its
	// server kept. A request with two Authorization headers is refused
	// rather than read, since a proxy that reads the last one and a
	// gateway that reads the first would disagree about who is calling.
	ErrManyHeaders  = refusal("Invalid token header. Send one Authorization header.")
	ErrUserInactive = refusal("User inactive or deleted.")
)

func refusal(message string) *fault.Error { return fault.New(fault.Unauthenticated, message) }

// IsRefusal tells whether err refuses the credentials (401) rather than
// failing to check them.
func IsRefusal(err error) bool { return fault.CodeOf(err) == fault.Unauthenticated }

// Refused is the message of a refusal, the only text of err a client may
// see; ok is false for any other error.
func Refused(err error) (message string, ok bool) {
	if f, found := fault.As(err); found && f.Code == fault.Unauthenticated {
		return f.Message, true
	}
	return "", false
}
