<?php
// The hosted IdP of rollcall's test harness. Its whole metadata array is
// built by the Go harness and stored in state.json. Test-only.
$state = json_decode(file_get_contents(dirname(__DIR__) . '/config/state.json'), true, 64, JSON_THROW_ON_ERROR);

$metadata[$state['entityID']] = $state['hosted'];
