package schema

import (
	"strings"
)

// Type is the data type of an attribute (RFC 7643 §2.3).
type Type string

// The attribute data types of RFC 7643 §2.3.
const (
	TypeString    Type = "string"
	TypeBoolean   Type = "boolean"
	TypeDecimal   Type = "decimal"
	TypeInteger   Type = "integer"
	TypeDateTime  Type = "dateTime"
	TypeBinary    Type = "binary"
	TypeReference Type = "reference"
	TypeComplex   Type = "complex"
)

// Mutability says whether and how a client may change an attribute
// (RFC 7643 §7).
type Mutability string

// The mutability values of RFC 7643 §7.
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned says when an attribute appears in a response (RFC 7643 §7).
type Returned string

// The returned values of RFC 7643 §7.
const (
	ReturnedAlways  Returned = "always"
	ReturnedNever   Returned = "never"
	ReturnedDefault Returned = "default"
	ReturnedRequest Returned = "request"
)

// Uniqueness says how unique an attribute's value must be (RFC 7643 §7).
type Uniqueness string

// The uniqueness values of RFC 7643 §7.
const (
	UniquenessNone   Uniqueness = "none"
	UniquenessServer Uniqueness = "server"
	UniquenessGlobal Uniqueness = "global"
)

// Schema URNs and message URNs used by Rollcall.
const (
	// UserURN is the core User schema (RFC 7643 §4.1).
	UserURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	// GroupURN is the core Group schema (RFC 7643 §4.2).
	GroupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
	// EnterpriseUserURN is the enterprise User extension (RFC 7643 §4.3).
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// RollcallUserURN is Rollcall's User extension, which carries the
	// member's workspace role.
	RollcallUserURN = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"
	// SchemaURN is the schema of the /Schemas representations (RFC 7643 §7).
	SchemaURN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	// ResourceTypeURN is the schema of the /ResourceTypes representations
	// (RFC 7643 §6).
	ResourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

// Attribute describes one attribute or sub-attribute (RFC 7643 §7). Its JSON
// encoding is the attribute's representation under /Schemas.
type Attribute struct {
	Name            string      `json:"name"`
	Type            Type        `json:"type"`
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description"`
	Required        bool        `json:"required"`
	CaseExact       bool        `json:"caseExact"`
	Mutability      Mutability  `json:"mutability"`
	Returned        Returned    `json:"returned"`
	Uniqueness      Uniqueness  `json:"uniqueness"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
	SubAttributes   []Attribute `json:"subAttributes,omitempty"`

	// aliases are other names accepted on input for this attribute, for
	// clients that misspell it in a known way. They are not published.
	aliases []string
}

// SubAttribute returns the sub-attribute called name, compared without
// regard to case, or nil when a has none by that name.
func (a *Attribute) SubAttribute(name string) *Attribute {
	for i := range a.SubAttributes {
		s := &a.SubAttributes[i]
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	for i := range a.SubAttributes {
		s := &a.SubAttributes[i]
		for _, alias := range s.aliases {
			if strings.EqualFold(alias, name) {
				return s
			}
		}
	}
	return nil
}

// isReference reports whether a is a complex attribute that points at
// another resource, such as a group member or the enterprise manager: it
// has "value" and "$ref" sub-attributes. Such attributes accept a bare
// string, taken as the referenced id.
func (a *Attribute) isReference() bool {
	return a.Type == TypeComplex && a.SubAttribute("value") != nil && a.SubAttribute("$ref") != nil
}

// Schema is a SCIM schema: a core resource schema or an extension
// (RFC 7643 §7). Its JSON encoding lacks "schemas" and "meta"; use
// [Schema.Representation] for the /Schemas document.
type Schema struct {
	ID          string      `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	Attributes  []Attribute `json:"attributes"`
}

// Attribute returns the top-level attribute called name, compared without
// regard to case, or nil when s has none by that name.
func (s *Schema) Attribute(name string) *Attribute {
	for i := range s.Attributes {
		if strings.EqualFold(s.Attributes[i].Name, name) {
			return &s.Attributes[i]
		}
	}
	return nil
}

// Meta is the "meta" attribute of a discovery resource (a Schema or a
// ResourceType representation).
type Meta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// SchemaRepresentation is a schema as served at /Schemas/{id}
// (RFC 7643 §7, §8.7.1).
type SchemaRepresentation struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id"`
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	Attributes  []Attribute `json:"attributes"`
	Meta        Meta        `json:"meta"`
}

// Representation returns s as served at baseURL + "/Schemas/" + s.ID, where
// baseURL is the SCIM base URL of the workspace, such as
// "https://rollcall.example/scim/v2/acme".
func (s *Schema) Representation(baseURL string) SchemaRepresentation {
	return SchemaRepresentation{
		Schemas:     []string{SchemaURN},
		ID:          s.ID,
		Name:        s.Name,
		Description: s.Description,
		Attributes:  s.Attributes,
		Meta:        Meta{ResourceType: "Schema", Location: joinURL(baseURL, "Schemas", s.ID)},
	}
}

// SchemaExtension names an extension schema of a resource type
// (RFC 7643 §6).
type SchemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

// ResourceType describes a resource endpoint (RFC 7643 §6). Its JSON
// encoding lacks "schemas" and "meta"; use [ResourceType.Representation] for
// the /ResourceTypes document.
type ResourceType struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Endpoint         string            `json:"endpoint"`
	Description      string            `json:"description,omitempty"`
	Schema           string            `json:"schema"`
	SchemaExtensions []SchemaExtension `json:"schemaExtensions,omitempty"`
}

// ResourceTypeRepresentation is a resource type as served at
// /ResourceTypes/{id} (RFC 7643 §6, §8.6).
type ResourceTypeRepresentation struct {
	Schemas          []string          `json:"schemas"`
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Endpoint         string            `json:"endpoint"`
	Description      string            `json:"description,omitempty"`
	Schema           string            `json:"schema"`
	SchemaExtensions []SchemaExtension `json:"schemaExtensions,omitempty"`
	Meta             Meta              `json:"meta"`
}

// Representation returns rt as served at baseURL + "/ResourceTypes/" +
// rt.ID, where baseURL is the SCIM base URL of the workspace.
func (rt ResourceType) Representation(baseURL string) ResourceTypeRepresentation {
	return ResourceTypeRepresentation{
		Schemas:          []string{ResourceTypeURN},
		ID:               rt.ID,
		Name:             rt.Name,
		Endpoint:         rt.Endpoint,
		Description:      rt.Description,
		Schema:           rt.Schema,
		SchemaExtensions: rt.SchemaExtensions,
		Meta:             Meta{ResourceType: "ResourceType", Location: joinURL(baseURL, "ResourceTypes", rt.ID)},
	}
}

// joinURL joins a base URL and path segments with single slashes.
func joinURL(base string, segments ...string) string {
	return strings.TrimRight(base, "/") + "/" + strings.Join(segments, "/")
}
