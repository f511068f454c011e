package graph

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// allows answers "may this caller call that field?" for the REST guards
// and the allows query. Every root field's rule must be one it can read:
// a rule it skipped would refuse the field to everyone, a superuser too.
func TestAllowsReadsEveryRootFieldsRule(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	ctx := auth.WithCaller(context.Background(), superuser)
	for _, root := range []string{"Query", "Mutation"} {
		for _, f := range schema.Types[root].Fields {
			if f.Name == "__schema" || f.Name == "__type" || f.Name == "__typename" {
				continue
			}
			if ok, err := allows(ctx, schema, nil, root+"."+f.Name, nil); !ok || err != nil {
				t.Errorf("%s.%s: a superuser is refused (%v): allows cannot read its rule", root, f.Name, err)
			}
		}
	}
}

func TestAllows(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	user7 := store.ID(7)
	for _, tc := range []struct {
		field  string
		id     *store.ID
		caller *auth.Caller
		want   fault.Code // "" when allowed
	}{
		{"Mutation.signIn", nil, anonymous, ""},
		{"Query.me", nil, anonymous, fault.Unauthenticated},
		{"Query.me", nil, jane, ""},
		{"Mutation.updateUser", &user7, jane, ""}, // herself
		{"Mutation.updateUser", nil, jane, fault.Forbidden},
		{"Mutation.updateUser", nil, editor, ""},
		{"Mutation.updateUser", nil, deactivated, fault.Unauthenticated},
		{"Mutation.deleteUser", nil, jane, fault.Forbidden},
		{"Mutation.deleteUser", nil, staff, ""}, // orStaff
		{"Query.nothing", nil, superuser, fault.Invalid},
		{"updateUser", nil, superuser, fault.Invalid},
		{"Subscription.mailingProgress", nil, superuser, fault.Invalid},
	} {
		name := "anonymous"
		if tc.caller != nil {
			name = tc.caller.Username
		}
		t.Run(tc.field+"/"+name, func(t *testing.T) {
			ok, err := allows(auth.WithCaller(context.Background(), tc.caller), schema, nil, tc.field, tc.id)
			if got := fault.CodeOf(err); got != tc.want || ok != (tc.want == "") {
				t.Errorf("allows = %v, %v (%q); want %q", ok, err, got, tc.want)
			}
		})
	}
}
