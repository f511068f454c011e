package auth

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/store/fault"
)

// TestParseAuthorization's expectations were produced by running DRF 3.14's
// own TokenAuthentication.authenticate (keyword "Token", then a subclass
// with keyword "Bearer") on the same raw header bytes.
func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name, header, key string
		err               error
	}{
		{"empty", "", "", nil},
		{"only spaces", "   ", "", nil},
		{"Basic scheme", "Basic dXNlcjpwYXNz", "", nil},
		{"keyword glued to key", "Token9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "", nil},
		{"Token and key", "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"lower-case token", "token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"upper-case TOKEN", "TOKEN 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"Bearer and key", "Bearer 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"upper-case BEARER", "BEARER 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"mixed-case bEaReR", "bEaReR 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"tab between", "Token\x099944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"several spaces and trailing space", "Token   9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b  ", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"vertical tab and form feed", "Token\x0b\x0c9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", nil},
		{"Token alone", "Token", "", ErrNoCredentials},
		{"Bearer alone with trailing space", "Bearer ", "", ErrNoCredentials},
		{"three words", "Token a b", "", ErrTokenHasSpaces},
		{"Bearer three words", "Bearer a b", "", ErrTokenHasSpaces},
		{"key not a DRF key", "Token short", "short", nil},
		{"key with invalid UTF-8", "Token \xff\xfe", "", ErrTokenInvalidChars},
		{"key with a UTF-16 surrogate in UTF-8", "Token \xed\xa0\x80", "", ErrTokenInvalidChars},
		{"key with valid UTF-8", "Token cl\xc3\xa9", "cl\xc3\xa9", nil},
		{"no-break space is not a separator", "Token\xc2\xa0abc", "", nil},
		{"Kelvin sign does not fold to k", "To\xe2\x84\xaaen abc", "", nil},
		{"NUL is not a separator", "Token\x00abc", "", nil},
		{"file separator is not a separator", "Token\x1cabc", "", nil},
		{"NEL byte is not a separator", "Token\x85abc", "", nil},
		{"Digest scheme with spaces", "Digest username=\"a\", realm=\"b\"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseAuthorization(tt.header)
			if key != tt.key || err != tt.err {
				t.Errorf("ParseAuthorization(%q) = %q, %v; want %q, %v", tt.header, key, err, tt.key, tt.err)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"the sentinel itself", ErrInvalidToken, ErrInvalidToken, true},
		{"wrapped sentinel", fmt.Errorf("look up: %w", ErrUserInactive), ErrUserInactive, true},
		{"a fresh value with the same message", fault.New(fault.Unauthenticated, "Invalid token."), ErrInvalidToken, true},
		{"another message", ErrInvalidToken, ErrUserInactive, false},
		{"a plain error with the same text", errors.New("Invalid token."), ErrInvalidToken, false},
		{"nil *fault.Error target", ErrInvalidToken, (*fault.Error)(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v; want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
	if e, ok := errors.AsType[*fault.Error](fmt.Errorf("x: %w", ErrNoCredentials)); !ok || e.Message != "Invalid token header. No credentials provided." {
		t.Errorf("errors.AsType did not recover the message: %v, %v", e, ok)
	}
}
