package patch

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"rollcall/internal/scim/schema"
)

// thingSchema is a resource type with what User and Group lack: immutable
// top-level attributes, simple multi-valued attributes, a caseExact one and
// a required extension attribute.
func thingSchema(tb testing.TB) *schema.ResourceSchema {
	tb.Helper()
	str := func(name string, opts ...func(*schema.Attribute)) schema.Attribute {
		a := schema.Attribute{Name: name, Type: schema.TypeString, Mutability: schema.ReadWrite, Returned: schema.ReturnedDefault, Uniqueness: schema.UniquenessNone}
		for _, o := range opts {
			o(&a)
		}
		return a
	}
	immutable := func(a *schema.Attribute) { a.Mutability = schema.Immutable }
	multi := func(a *schema.Attribute) { a.MultiValued = true }
	required := func(a *schema.Attribute) { a.Required = true }
	core := &schema.Schema{ID: "urn:example:scim:schemas:Thing", Name: "Thing", Attributes: []schema.Attribute{
		str("code", immutable),
		str("label", required),
		str("tags", multi),
		str("serials", multi, func(a *schema.Attribute) { a.CaseExact = true }),
		str("spec", immutable, func(a *schema.Attribute) {
			a.Type = schema.TypeComplex
			a.SubAttributes = []schema.Attribute{str("color"), str("size", func(a *schema.Attribute) { a.Type = schema.TypeInteger })}
		}),
	}}
	ext := &schema.Schema{ID: "urn:example:scim:schemas:ThingExtra", Name: "ThingExtra", Attributes: []schema.Attribute{
		str("owner", required),
	}}
	rt := schema.ResourceType{ID: "Thing", Name: "Thing", Endpoint: "/Things", Schema: core.ID,
		SchemaExtensions: []schema.SchemaExtension{{Schema: ext.ID}}}
	rs, err := schema.NewResourceSchema(rt, core, ext)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

const thingJSON = `{
	"schemas": ["urn:example:scim:schemas:Thing", "urn:example:scim:schemas:ThingExtra"],
	"id": "t1",
	"label": "Widget",
	"code": "W-1",
	"tags": ["red", "Blue"],
	"serials": ["AB12"],
	"spec": {"color": "red", "size": 3},
	"urn:example:scim:schemas:ThingExtra": {"owner": "ops"}
}`

func TestApplyCustomSchema(t *testing.T) {
	t.Parallel()
	rs := thingSchema(t)
	tests := []struct {
		name  string
		start string
		body  string
		want  string
		err   *Error
	}{
		{name: "set an immutable attribute that is absent", start: `{"code": null}`,
			body: ops(`{"op": "add", "path": "code", "value": "W-2"}`), want: `{"code": "W-2"}`},
		{name: "set an immutable attribute to its value, in another case",
			body: ops(`{"op": "replace", "path": "code", "value": "w-1"}`)},
		{name: "change an immutable attribute",
			body: ops(`{"op": "replace", "path": "code", "value": "W-2"}`),
			err:  &Error{ScimType: "mutability", Detail: "code is immutable: it can be set when absent but not changed or removed"}},
		{name: "remove an immutable attribute",
			body: ops(`{"op": "remove", "path": "code"}`),
			err:  &Error{ScimType: "mutability", Detail: "code is immutable: it can be set when absent but not changed or removed"}},
		{name: "merge into an immutable complex attribute",
			body: ops(`{"op": "add", "path": "spec", "value": {"size": "4"}}`),
			err:  &Error{ScimType: "mutability", Detail: "spec is immutable: it can be set when absent but not changed or removed"}},
		{name: "set a sub-attribute of an immutable attribute",
			body: ops(`{"op": "replace", "path": "spec.color", "value": "blue"}`),
			err:  &Error{ScimType: "mutability", Detail: "spec.color is immutable: it can be set when absent but not changed or removed"}},
		{name: "set an immutable complex attribute that is absent", start: `{"spec": null}`,
			body: ops(`{"op": "add", "path": "spec", "value": {"size": "4"}}`), want: `{"spec": {"size": 4}}`},
		{name: "simple values are matched without regard to case",
			body: ops(`{"op": "add", "path": "tags", "value": ["RED", "green"]}, {"op": "remove", "path": "tags", "value": "blue"}`),
			want: `{"tags": ["red", "green"]}`},
		{name: "caseExact values are not",
			body: ops(`{"op": "add", "path": "serials", "value": ["ab12", "AB12"]}`),
			want: `{"serials": ["AB12", "ab12"]}`},
		{name: "replace a simple list drops repeats",
			body: ops(`{"op": "replace", "path": "tags", "value": ["x", "X", "y"]}`),
			want: `{"tags": ["x", "y"]}`},
		{name: "remove a required attribute",
			body: ops(`{"op": "remove", "path": "label"}`),
			err:  &Error{ScimType: "mutability", Detail: "label is required and cannot be removed"}},
		{name: "remove a required extension attribute",
			body: ops(`{"op": "remove", "path": "urn:example:scim:schemas:ThingExtra"}`),
			err:  &Error{ScimType: "mutability", Detail: "urn:example:scim:schemas:ThingExtra:owner is required and cannot be removed"}},
		{name: "a required attribute the document lacked may stay absent", start: `{"label": null}`,
			body: ops(`{"op": "add", "path": "tags", "value": "new"}`), want: `{"tags": ["red", "Blue", "new"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := overlay(t, decode(t, thingJSON), tt.start)
			orig := deepCopy(start)
			ops, err := Parse(decode(t, tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := Apply(start, rs, ops)
			if diff := cmp.Diff(orig, start); diff != "" {
				t.Errorf("Apply changed its input (-before +after):\n%s", diff)
			}
			if tt.err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Apply = %v, %v; want error %v", got, err, tt.err)
				}
				if diff := cmp.Diff(tt.err, pe); diff != "" {
					t.Errorf("Apply error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if diff := cmp.Diff(overlay(t, start, tt.want), got); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
			checkCanonical(t, rs, got)
		})
	}
}
