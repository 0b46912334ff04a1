<?php
// SimpleSAMLphp main configuration for rollcall's test harness
// (rollcall/internal/testenv/ssp). Every value comes from state.json, which
// the Go harness rewrites atomically; php -S runs with opcache off, so each
// request sees the current state. Test-only: never deploy this.
$state = json_decode(file_get_contents(__DIR__ . '/state.json'), true, 64, JSON_THROW_ON_ERROR);

$sources = [['type' => 'flatfile', 'directory' => $state['dirs']['metadata']]];
// One 'xml' source per SP metadata file, used verbatim.
$spFiles = glob($state['dirs']['sp'] . '/*.xml');
sort($spFiles);
foreach ($spFiles as $file) {
    $sources[] = ['type' => 'xml', 'file' => $file];
}

$config = [
    'baseurlpath' => $state['baseURL'],
    'certdir' => $state['dirs']['cert'] . '/',
    'loggingdir' => $state['dirs']['log'] . '/',
    'datadir' => $state['dirs']['data'] . '/',
    'tempdir' => $state['dirs']['tmp'],
    'metadatadir' => $state['dirs']['metadata'] . '/',
    'attributenamemapdir' => '/usr/share/simplesamlphp/attributemap/',

    'secretsalt' => $state['secretSalt'],
    'auth.adminpassword' => $state['adminPassword'],
    'admin.protectindexpage' => false,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'technicalcontact_name' => 'Rollcall tests',
    'technicalcontact_email' => 'tests@example.org',
    'timezone' => 'UTC',

    'logging.level' => SimpleSAML\Logger::DEBUG,
    'logging.handler' => 'stderr',
    'debug' => ['saml' => false, 'backtraces' => true, 'validatexml' => false],
    'showerrors' => true,
    'errorreporting' => true,
    'production' => false,

    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => false],

    // Plain http on loopback: a Secure cookie would be dropped by Go's
    // cookiejar, and SameSite=None without Secure is rejected by Chromium.
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'session.cookie.name' => 'SimpleSAMLSessionID',
    'session.phpsession.cookiename' => 'SimpleSAML',
    'session.authtoken.cookiename' => 'SimpleSAMLAuthToken',
    'session.phpsession.savepath' => $state['dirs']['tmp'],
    'store.type' => 'phpsession',
    'language.available' => ['en'],
    'language.default' => 'en',
    'language.cookie.secure' => false,
    'language.cookie.samesite' => null,

    'metadata.sources' => $sources,
];
