// Package directory is Rollcall's domain: workspaces, members, built-in and
// custom roles, groups, and the rules that bind them.
//
// Every protocol door (SCIM, SAML, the REST API, the CLI) translates its
// requests into calls on a [Service]. The service owns every invariant — a
// workspace always keeps an active owner, deactivation never deletes data,
// the effective role follows one documented rule — and enforces them inside
// one store transaction per change, so a rule means the same thing whoever
// asks. The persistence it needs is described by the small [Store] and [Tx]
// interfaces defined here and implemented by internal/store.
//
// Tenancy is a value: every call takes the workspace ID explicitly and no
// request state is ever kept on a shared object.
package directory
