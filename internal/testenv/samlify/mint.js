'use strict';
// mint.js: mints a SAML 2.0 Response with npm samlify (signed by xml-crypto),
// for rollcall's Go tests (package rollcall/internal/testenv/samlify).
//
// Input: one JSON object on stdin (see the request type in samlify.go).
// Output: one JSON object on stdout: {samlResponse}, where samlResponse
// is the base64 document as samlify returns it for the HTTP-POST binding.
// Errors go to stderr with exit status 1.

const saml = require('samlify');

// samlify refuses to work without a schema validator; the Go side checks
// what it needs, and samlify's own output is what is under test elsewhere.
saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

function escapeXML(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attributeStatement(attributes, nameFormat) {
  if (!attributes || attributes.length === 0) return '';
  const attrs = attributes.map((a) =>
    `<saml:Attribute Name="${escapeXML(a.name)}" NameFormat="${escapeXML(nameFormat)}">` +
    a.values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXML(v)}</saml:AttributeValue>`).join('') +
    '</saml:Attribute>').join('');
  return `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>`;
}

function authnStatement(r) {
  return `<saml:AuthnStatement AuthnInstant="${escapeXML(r.issueInstant)}" SessionIndex="${escapeXML(r.sessionIndex)}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${escapeXML(r.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext>` +
    '</saml:AuthnStatement>';
}

async function mint(r) {
  const idp = saml.IdentityProvider({
    entityID: r.idpEntityID,
    privateKey: r.idpKeyPEM,
    signingCert: r.idpCertPEM,
    nameIDFormat: [r.nameIDFormat],
    requestSignatureAlgorithm: r.signatureAlgorithm,
    // Unused; given so that samlify does not warn about their absence.
    singleSignOnService: [{ Binding: REDIRECT, Location: r.idpEntityID }],
    singleLogoutService: [{ Binding: REDIRECT, Location: r.idpEntityID }],
  });
  const sp = saml.ServiceProvider({
    entityID: r.spEntityID,
    assertionConsumerService: [{ Binding: POST, Location: r.acsURL }],
    wantAssertionsSigned: r.signAssertion,
    wantMessageSigned: r.signResponse,
  });
  const id = r.responseID;
  const replace = (template) => {
    const xml = template
      .replace('{AuthnStatement}', authnStatement(r))
      .replace('{AttributeStatement}', attributeStatement(r.attributes, r.attributeNameFormat));
    return {
      id,
      context: saml.SamlLib.replaceTagsByValue(xml, {
        ID: id,
        AssertionID: r.assertionID,
        Destination: r.destination,
        Audience: r.audience,
        SubjectRecipient: r.recipient,
        Issuer: r.idpEntityID,
        IssueInstant: r.issueInstant,
        StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
        ConditionsNotBefore: r.notBefore,
        ConditionsNotOnOrAfter: r.notOnOrAfter,
        SubjectConfirmationDataNotOnOrAfter: r.notOnOrAfter,
        NameIDFormat: r.nameIDFormat,
        NameID: r.nameID,
        // null drops the attribute: an unsolicited (IdP-initiated) Response.
        InResponseTo: r.inResponseTo || null,
      }),
    };
  };
  const res = await idp.createLoginResponse(sp, {}, 'post', {}, { customTagReplacement: replace });
  return { samlResponse: res.context };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  let req;
  try {
    req = JSON.parse(input);
  } catch (e) {
    process.stderr.write(`mint.js: bad request JSON: ${e.message}\n`);
    process.exit(1);
  }
  mint(req).then(
    (out) => { process.stdout.write(JSON.stringify(out)); },
    (e) => { process.stderr.write(`mint.js: ${e && e.stack ? e.stack : e}\n`); process.exit(1); },
  );
});
