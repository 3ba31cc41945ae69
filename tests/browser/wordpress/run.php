<?php
/**
 * Runs a snippet of PHP, read on stdin, in WordPress's context; it prints what it wants read.
 */

require __DIR__ . '/load.php';

eval( stream_get_contents( STDIN ) );
