<?php
// Authentication sources for rollcall's test harness: static users from
// state.json through exampleauth:UserPass. Test-only.
$state = json_decode(file_get_contents(__DIR__ . '/state.json'), true, 64, JSON_THROW_ON_ERROR);

$userpass = ['exampleauth:UserPass'];
foreach ($state['users'] as $user) {
    // exampleauth splits the key at the first ':'; the harness rejects
    // usernames that contain one.
    $userpass[$user['username'] . ':' . $user['password']] = $user['attributes'];
}

$config = [
    'example-userpass' => $userpass,
];
