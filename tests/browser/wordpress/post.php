<?php
/**
 * Publishes a post AS a given user, so kses filters it exactly as the editor would for that
 * user (an Author has no unfiltered_html).
 *
 * Reads {"content", "title", "author"} as JSON on stdin; prints {"id", "url", "content"}, the
 * content as stored.
 */

require __DIR__ . '/load.php';

$input = json_decode( stream_get_contents( STDIN ), true );
$user  = get_user_by( 'login', $input['author'] );
if ( ! $user ) {
	fwrite( STDERR, "No user {$input['author']}\n" );
	exit( 1 );
}
wp_set_current_user( $user->ID );
kses_init();

$id = wp_insert_post(
	wp_slash(
		array(
			'post_title'   => $input['title'],
			'post_content' => $input['content'],
			'post_status'  => 'publish',
			'post_author'  => $user->ID,
		)
	),
	true
);
if ( is_wp_error( $id ) ) {
	fwrite( STDERR, $id->get_error_message() . "\n" );
	exit( 1 );
}

echo wp_json_encode(
	array(
		'id'      => $id,
		'url'     => get_permalink( $id ),
		'content' => get_post( $id )->post_content,
	)
);
