package schema

// The definitions below follow RFC 7643 §8.7.1 word for word, descriptions
// included (Microsoft's test collection looks for "User Account"), with two
// documented additions taken from the RFC's prose: addresses.primary
// (§4.1.2, missing from §8.7.1 by an erratum) and members.display (§2.4,
// sent by Okta). Each function builds a fresh value, so callers cannot
// disturb one another.

// CoreUser returns the core User schema (RFC 7643 §4.1, §8.7.1).
func CoreUser() *Schema {
	return &Schema{
		ID:          UserURN,
		Name:        "User",
		Description: "User Account",
		Attributes: []Attribute{
			attr("userName", TypeString, "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value.  This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.",
				required, uniqueness(UniquenessServer)),
			attr("name", TypeComplex, "The components of the user's real name. Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both.  If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.",
				subs(
					attr("formatted", TypeString, "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
					attr("familyName", TypeString, "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."),
					attr("givenName", TypeString, "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."),
					attr("middleName", TypeString, "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."),
					attr("honorificPrefix", TypeString, "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."),
					attr("honorificSuffix", TypeString, "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."),
				)),
			attr("displayName", TypeString, "The name of the User, suitable for display to end-users.  The name SHOULD be the full name of the User being described, if known."),
			attr("nickName", TypeString, "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."),
			attr("profileUrl", TypeReference, "A fully qualified URL pointing to a page representing the User's online profile.",
				referenceTypes("external")),
			attr("title", TypeString, `The user's title, such as "Vice President."`),
			attr("userType", TypeString, "Used to identify the relationship between the organization and the user.  Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."),
			attr("preferredLanguage", TypeString, "Indicates the User's preferred written or spoken language.  Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US."),
			attr("locale", TypeString, "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
			attr("timezone", TypeString, "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
			attr("active", TypeBoolean, "A Boolean value indicating the User's administrative status."),
			attr("password", TypeString, "The User's cleartext password.  This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.",
				mutability(WriteOnly), returned(ReturnedNever)),
			attr("emails", TypeComplex, "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.",
				multiValued, subs(
					attr("value", TypeString, "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function, e.g., 'work' or 'home'.",
						canonicalValues("work", "home", "other")),
					primarySub("e.g., the preferred mailing address or primary email address."),
				)),
			attr("phoneNumbers", TypeComplex, "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
				multiValued, subs(
					attr("value", TypeString, "Phone number of the User."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
						canonicalValues("work", "home", "mobile", "fax", "pager", "other")),
					primarySub("e.g., the preferred phone number or primary phone number."),
				)),
			attr("ims", TypeComplex, "Instant messaging addresses for the User.",
				multiValued, subs(
					attr("value", TypeString, "Instant messaging address for the User."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
						canonicalValues("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
					primarySub("e.g., the preferred messenger or primary messenger."),
				)),
			attr("photos", TypeComplex, "URLs of photos of the User.",
				multiValued, subs(
					attr("value", TypeReference, "URL of a photo of the User.", referenceTypes("external")),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
						canonicalValues("photo", "thumbnail")),
					primarySub("e.g., the preferred photo or thumbnail."),
				)),
			attr("addresses", TypeComplex, "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'.  This attribute is a complex type with the following sub-attributes.",
				multiValued, subs(
					attr("formatted", TypeString, "The full mailing address, formatted for display or use with a mailing label.  This attribute MAY contain newlines."),
					attr("streetAddress", TypeString, "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information.  This attribute MAY contain newlines."),
					attr("locality", TypeString, "The city or locality component."),
					attr("region", TypeString, "The state or region component."),
					attr("postalCode", TypeString, "The zip code or postal code component."),
					attr("country", TypeString, "The country name component."),
					attr("type", TypeString, "A label indicating the attribute's function, e.g., 'work' or 'home'.",
						canonicalValues("work", "home", "other")),
					// Not in §8.7.1 (an erratum), but defined by §4.1.2 and
					// sent by Entra ID and Microsoft's test collection.
					primarySub("e.g., the preferred mailing address or primary email address."),
				)),
			attr("groups", TypeComplex, "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.",
				multiValued, mutability(ReadOnly), subs(
					attr("value", TypeString, "The identifier of the User's group.", mutability(ReadOnly)),
					attr("$ref", TypeReference, "The URI of the corresponding 'Group' resource to which the user belongs.",
						referenceTypes("User", "Group"), mutability(ReadOnly)),
					attr("display", TypeString, "A human-readable name, primarily used for display purposes.  READ-ONLY.", mutability(ReadOnly)),
					attr("type", TypeString, "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
						canonicalValues("direct", "indirect"), mutability(ReadOnly)),
				)),
			attr("entitlements", TypeComplex, "A list of entitlements for the User that represent a thing the User has.",
				multiValued, subs(
					attr("value", TypeString, "The value of an entitlement."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function."),
					primarySub(""),
				)),
			attr("roles", TypeComplex, "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
				multiValued, subs(
					attr("value", TypeString, "The value of a role."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function."),
					primarySub(""),
				)),
			attr("x509Certificates", TypeComplex, "A list of certificates issued to the User.",
				multiValued, subs(
					attr("value", TypeBinary, "The value of an X.509 certificate."),
					displaySub(),
					attr("type", TypeString, "A label indicating the attribute's function."),
					primarySub(""),
				)),
		},
	}
}

// EnterpriseUser returns the enterprise User extension (RFC 7643 §4.3,
// §8.7.1).
func EnterpriseUser() *Schema {
	return &Schema{
		ID:          EnterpriseUserURN,
		Name:        "EnterpriseUser",
		Description: "Enterprise User",
		Attributes: []Attribute{
			attr("employeeNumber", TypeString, "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
			attr("costCenter", TypeString, "Identifies the name of a cost center."),
			attr("organization", TypeString, "Identifies the name of an organization."),
			attr("division", TypeString, "Identifies the name of a division."),
			attr("department", TypeString, "Identifies the name of a department."),
			attr("manager", TypeComplex, "The User's manager.  A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
				subs(
					attr("value", TypeString, "The id of the SCIM resource representing the User's manager.  REQUIRED."),
					attr("$ref", TypeReference, "The URI of the SCIM resource representing the User's manager.  REQUIRED.",
						referenceTypes("User")),
					attr("displayName", TypeString, "The displayName of the User's manager. OPTIONAL and READ-ONLY.",
						mutability(ReadOnly)),
				)),
		},
	}
}

// RollcallUser returns Rollcall's User extension, which carries a member's
// workspace role.
func RollcallUser() *Schema {
	return &Schema{
		ID:          RollcallUserURN,
		Name:        "RollcallUser",
		Description: "Rollcall workspace membership",
		Attributes: []Attribute{
			attr("role", TypeString, "The member's built-in workspace role: 'owner', 'admin', 'member' or 'guest'.  The 'owner' role is read-only over SCIM: it cannot be granted or taken away by a provisioning client, only in Rollcall itself.",
				canonicalValues("owner", "admin", "member", "guest")),
			attr("customRoleId", TypeString, "The identifier of a custom role of the workspace assigned to the member.",
				caseExact),
			attr("customRoleName", TypeString, "The name of a custom role of the workspace assigned to the member."),
		},
	}
}

// CoreGroup returns the core Group schema (RFC 7643 §4.2, §8.7.1).
func CoreGroup() *Schema {
	return &Schema{
		ID:          GroupURN,
		Name:        "Group",
		Description: "Group",
		Attributes: []Attribute{
			attr("displayName", TypeString, "A human-readable name for the Group. REQUIRED."),
			attr("members", TypeComplex, "A list of members of the Group.",
				multiValued, subs(
					attr("value", TypeString, "Identifier of the member of this Group.", mutability(Immutable)),
					attr("$ref", TypeReference, "The URI corresponding to a SCIM resource that is a member of this Group.",
						referenceTypes("User", "Group"), mutability(Immutable)),
					attr("type", TypeString, "A label indicating the type of resource, e.g., 'User' or 'Group'.",
						canonicalValues("User", "Group"), mutability(Immutable)),
					// Not in §8.7.1, but a default sub-attribute of every
					// multi-valued attribute (§2.4) and sent by Okta.
					// Microsoft's test collection sends it as "displayName".
					attr("display", TypeString, "A human-readable name, primarily used for display purposes.",
						mutability(Immutable), aliases("displayName")),
				)),
		},
	}
}

// CommonAttributes returns the attributes every resource has (RFC 7643
// §3.1): id, externalId and meta, plus "schemas" (RFC 7643 §3), which the
// RFC does not call an attribute but which is returned always and may be
// filtered on. They belong to no schema and are not listed under /Schemas.
func CommonAttributes() []Attribute {
	return []Attribute{
		attr("schemas", TypeReference, "The URIs of the schemas used to define the attributes present in the resource.",
			multiValued, returned(ReturnedAlways), referenceTypes("uri")),
		attr("id", TypeString, "A unique identifier for a SCIM resource as defined by the service provider.",
			caseExact, mutability(ReadOnly), returned(ReturnedAlways), uniqueness(UniquenessServer)),
		attr("externalId", TypeString, "A String that is an identifier for the resource as defined by the provisioning client.",
			caseExact),
		attr("meta", TypeComplex, "A complex attribute containing resource metadata.",
			mutability(ReadOnly), subs(
				attr("resourceType", TypeString, "The name of the resource type of the resource.", caseExact, mutability(ReadOnly)),
				attr("created", TypeDateTime, `The "DateTime" that the resource was added to the service provider.`, mutability(ReadOnly)),
				attr("lastModified", TypeDateTime, "The most recent DateTime that the details of this resource were updated at the service provider.", mutability(ReadOnly)),
				attr("location", TypeReference, "The URI of the resource being returned.", referenceTypes("uri"), mutability(ReadOnly)),
				attr("version", TypeString, "The version of the resource being returned.", caseExact, mutability(ReadOnly)),
			)),
	}
}

// attrOption adjusts an attribute built by attr.
type attrOption func(*Attribute)

// attr returns an attribute with the RFC 7643 §7 defaults: single-valued,
// optional, case-insensitive, readWrite, returned by default, not unique.
func attr(name string, t Type, description string, opts ...attrOption) Attribute {
	a := Attribute{
		Name:        name,
		Type:        t,
		Description: description,
		Mutability:  ReadWrite,
		Returned:    ReturnedDefault,
		Uniqueness:  UniquenessNone,
	}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func required(a *Attribute)    { a.Required = true }
func caseExact(a *Attribute)   { a.CaseExact = true }
func multiValued(a *Attribute) { a.MultiValued = true }

func mutability(m Mutability) attrOption { return func(a *Attribute) { a.Mutability = m } }
func returned(r Returned) attrOption     { return func(a *Attribute) { a.Returned = r } }
func uniqueness(u Uniqueness) attrOption { return func(a *Attribute) { a.Uniqueness = u } }

func canonicalValues(v ...string) attrOption { return func(a *Attribute) { a.CanonicalValues = v } }
func referenceTypes(t ...string) attrOption  { return func(a *Attribute) { a.ReferenceTypes = t } }
func subs(s ...Attribute) attrOption         { return func(a *Attribute) { a.SubAttributes = s } }
func aliases(n ...string) attrOption         { return func(a *Attribute) { a.aliases = n } }

// displaySub returns the "display" sub-attribute of a multi-valued
// attribute, with the RFC's description (which says READ-ONLY although the
// RFC defines it readWrite).
func displaySub() Attribute {
	return attr("display", TypeString, "A human-readable name, primarily used for display purposes.  READ-ONLY.")
}

// primarySub returns the "primary" sub-attribute of a multi-valued
// attribute; example is the RFC's "e.g." clause, if any.
func primarySub(example string) Attribute {
	d := "A Boolean value indicating the 'primary' or preferred attribute value for this attribute"
	if example != "" {
		d += ", " + example
	} else {
		d += "."
	}
	d += "  The primary attribute value 'true' MUST appear no more than once."
	return attr("primary", TypeBoolean, d)
}
