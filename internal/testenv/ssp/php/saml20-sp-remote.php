<?php
// SP metadata comes from the 'xml' metadata sources in config.php.
$metadata = [];
