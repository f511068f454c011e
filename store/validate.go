package store

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse/store/fault"
)

// Django's messages, word for word: legacy clients show them to people.
const (
	msgRequired       = "This field is required."
	msgBlank          = "This field may not be blank."
	msgNull           = "This field may not be null."
	msgUsernameFormat = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	msgEmailFormat    = "Enter a valid email address."
	msgPhoneFormat    = "Enter a valid phone number."
	msgUsernameTaken  = "A user with that username already exists."
	msgEmailTaken     = "user with this email already exists."
)

func msgMaxLength(n int) string {
	return fmt.Sprintf("Ensure this field has no more than %d characters.", n)
}

func msgMinValue(n int) string {
	return fmt.Sprintf("Ensure this value is greater than or equal to %d.", n)
}

// Field limits from Django's auth.User; the phone number's is the legacy
// user services' (their Person.phone_number, max_length 20).
const (
	maxUsername = 150
	maxName     = 150
	maxEmail    = 254
	maxPhone    = 20
	// maxPassword bounds the work one sign-in can cause; Django uses 4096.
	maxPassword = 4096
)

// usernamePattern is Django's UnicodeUsernameValidator: \w is Unicode-aware
// there, so letters and digits of any script are accepted.
var (
	usernamePattern = regexp.MustCompile(`^[\p{L}\p{N}_.@+\-]+$`)
	phonePattern    = regexp.MustCompile(`^\+?[0-9][0-9 ()\-.]*$`)
)

func validateUsername(v *fault.FieldErrors, username string) {
	switch {
	case strings.TrimSpace(username) == "":
		v.Add("username", msgBlank)
	case utf8.RuneCountInString(username) > maxUsername:
		v.Add("username", msgMaxLength(maxUsername))
	case !usernamePattern.MatchString(username):
		v.Add("username", msgUsernameFormat)
	}
}

func validateName(v *fault.FieldErrors, field, name string) {
	if utf8.RuneCountInString(name) > maxName {
		v.Add(field, msgMaxLength(maxName))
	}
}

// validateEmail accepts "" (no email) or one plain address.
func validateEmail(v *fault.FieldErrors, email string) {
	if email == "" {
		return
	}
	if utf8.RuneCountInString(email) > maxEmail {
		v.Add("email", msgMaxLength(maxEmail))
		return
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" ||
		!strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		v.Add("email", msgEmailFormat)
	}
}

func validatePhone(v *fault.FieldErrors, phone string) {
	if phone == "" {
		return
	}
	if utf8.RuneCountInString(phone) > maxPhone {
		v.Add("phone_number", msgMaxLength(maxPhone))
		return
	}
	if !phonePattern.MatchString(phone) {
		v.Add("phone_number", msgPhoneFormat)
	}
}

// ValidatePassword checks a new password before it is hashed.
func ValidatePassword(field, password string) error {
	v := &fault.FieldErrors{}
	switch {
	case password == "":
		v.Add(field, msgBlank)
	case len(password) > maxPassword:
		v.Add(field, msgMaxLength(maxPassword))
	}
	return v.Err()
}

// emailKey is what makes emails unique "when set", and unique whatever
// their case, with one plain unique index on both engines: the lower-cased
// address, or, for a user with no email, a value no address can take,
// unique to that user.
func emailKey(id ID, email string) string {
	if email == "" {
		return ownKey(id)
	}
	return strings.ToLower(email)
}

// ownKey is a key no name or address takes, unique to one document: the
// key of what has nothing to be unique by, or may not take the key its
// name folds to (see fillCaselessKeys).
func ownKey(id ID) string { return "\x00" + id.key() }

// normalizeUsername is Django's AbstractBaseUser.normalize_username, the
// NFKC form: a name typed in compatibility characters ("ａdmin" in
// fullwidth letters, "０１") is stored as the plain name it stands for
// ("admin", "01"), and is unique as that name.
func normalizeUsername(username string) string { return norm.NFKC.String(username) }

// caselessKey is the one form of the names that differ only in case or in
// compatibility characters, for the unique indexes that refuse a second
// one: Unicode's caseless match of NFKC forms, with full case folding
// ("STRASSE" and "straße" are one name). Django compares usernames and
// group names exactly; one person or role twice under names that look
// alike is how a user or an administrator is fooled, so Gatehouse does not.
func caselessKey(name string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(name)))
}

// usernameKey makes usernames unique whatever their case.
func usernameKey(username string) string { return caselessKey(username) }

// roleNameKey makes role names unique whatever their case and the spaces
// around them (a role stored before names were trimmed included).
func roleNameKey(name string) string { return caselessKey(strings.TrimSpace(name)) }
