# 003_crash_safety.pl -- a sync that dies midway leaves nothing behind.
#
# A sync is one function call in the caller's transaction (README,
# "Atomicity"): whatever ends it early -- a statement_timeout, a query
# cancel, a backend killed with SIGKILL and the crash recovery that follows
# -- both tables and diffsync's own records (history, commit_log,
# engine_base, syncs, the engine row) must be exactly as before, and the
# next sync must converge with a consistent history.
#
# One node (track_commit_timestamp = on).  A one-way engine over 200,000
# source rows with 180,000 differences (40,000 creates, 100,000 updates,
# 40,000 deletes) and a bidirectional last_update_wins engine (a base of
# 2,000 keys, then about 100,000 differences on both sides), history on.
#
#  (a) statement_timeout during the one-way sync: ERROR 57014, promptly,
#      nothing written, the session usable, the engine row not left locked;
#  (b) pg_cancel_backend during it: likewise;
#  (c) SIGKILL of the backend running it, once it has been running for a
#      while and has written rows: the postmaster reinitializes and runs
#      crash recovery; the transaction is aborted, both tables and every
#      diffsync table are as before (no sync row, no version, no commit
#      log entry of the killed sync);
#  (d) the next one-way sync converges: the summary is the diff, the diff is
#      empty afterwards, the history holds one version per written row and
#      history() rebuilds the current rows;
#  (e) SIGKILL during the bidirectional sync: the same, and the engine's base
#      is as before;
#  (f) the next bidirectional sync converges, with a base for every key;
#  (g) with continue_on_failure (failing batches retried row by row in
#      subtransactions), statement_timeout and pg_cancel_backend still end
#      the sync with 57014 and nothing written: a cancel is not a row's
#      failure.
#
# Every wait is bounded.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DBI;
use DBD::Pg qw(:async);
use JSON::PP;
use Time::HiRes qw(sleep time);

# Seconds a running sync must have been active before it is interrupted.
my $RUNNING = 0.7;
# Seconds to wait for a sync to start, for an interrupted one to end, and
# for the server to come back after a crash.
my $WAIT = 60;
# Seconds within which a cancelled sync must have ended.
my $PROMPT = 5;

my $json = JSON::PP->new->canonical;

my $node = PostgreSQL::Test::Cluster->new('crash_safety');
$node->init;
$node->append_conf('postgresql.conf', qq{
track_commit_timestamp = on
restart_after_crash = on
shared_buffers = 64MB
});
$node->start;

# connect_db: a new DBD::Pg session, autocommit on.
sub connect_db
{
	my $dbh = DBI->connect(
		'dbi:Pg:dbname=postgres;host=' . $node->host . ';port=' . $node->port,
		'', '',
		{ AutoCommit => 1, RaiseError => 1, PrintError => 0, PrintWarn => 1 });
	$dbh->do('SET client_min_messages = warning');
	return $dbh;
}

# value: the first column of the first row of a query.
sub value
{
	my ($dbh, $sql, @bind) = @_;
	my ($v) = $dbh->selectrow_array($sql, undef, @bind);
	return $v;
}

my $db = connect_db();

#
# Setup.
#
$db->do($_) for (
	'CREATE EXTENSION diffsync',
	q{CREATE TABLE src (id int PRIMARY KEY, name text NOT NULL, doc jsonb NOT NULL, qty int)},
	q{CREATE TABLE dst (ident int PRIMARY KEY, title text NOT NULL, body jsonb NOT NULL, amount int)},
	# 1..40000 only in src (create), 40001..140000 differ (update),
	# 140001..200000 equal, 200001..240000 only in dst (delete)
	q{INSERT INTO src SELECT g, 'item ' || g, jsonb_build_object('v', g, 'tags', jsonb_build_array('a', g % 7)), g % 100
	    FROM generate_series(1, 200000) g},
	q{INSERT INTO dst SELECT g, 'item ' || g,
	         jsonb_build_object('v', CASE WHEN g <= 140000 THEN -g ELSE g END, 'tags', jsonb_build_array('a', g % 7)),
	         g % 100
	    FROM generate_series(40001, 240000) g},
	q{SELECT diffsync.create_adapter('src', 'src', '{id}')},
	q{SELECT diffsync.create_adapter('dst', 'dst', '{id}',
	      columns => '{"id": "ident", "name": "title", "doc": "body", "qty": "amount"}')},
	q{SELECT diffsync.create_engine('oneway', 'src', 'dst', 'source_to_target', 'source_wins',
	      '{"history": true}')},

	q{CREATE TABLE bsrc (id int PRIMARY KEY, name text NOT NULL, doc jsonb NOT NULL, qty int)},
	q{CREATE TABLE bdst (ident int PRIMARY KEY, title text NOT NULL, body jsonb NOT NULL, amount int)},
	q{SELECT diffsync.create_adapter('bsrc', 'bsrc', '{id}')},
	q{SELECT diffsync.create_adapter('bdst', 'bdst', '{id}',
	      columns => '{"id": "ident", "name": "title", "doc": "body", "qty": "amount"}')},
	q{SELECT diffsync.create_engine('bidi', 'bsrc', 'bdst', 'bidirectional', 'last_update_wins',
	      '{"history": true}')},
	q{INSERT INTO bsrc SELECT g, 'item ' || g, jsonb_build_object('v', g), g % 100
	    FROM generate_series(1, 2000) g},
	q{SELECT diffsync.sync_engine('bidi')},
	# then: 60,000 new keys in bsrc, 40,000 in bdst, 1,000 changed on each
	# side, 100 deleted from bdst
	q{INSERT INTO bsrc SELECT g, 'item ' || g, jsonb_build_object('v', g, 'tags', jsonb_build_array('a', g % 7)), g % 100
	    FROM generate_series(2001, 62000) g},
	q{INSERT INTO bdst SELECT g, 'item ' || g, jsonb_build_object('v', g, 'tags', jsonb_build_array('b', g % 7)), g % 100
	    FROM generate_series(62001, 102000) g},
	q{UPDATE bsrc SET qty = qty + 1000 WHERE id <= 1000},
	q{UPDATE bdst SET title = title || ' (edited)' WHERE ident BETWEEN 1001 AND 1900},
	q{DELETE FROM bdst WHERE ident > 1900 AND ident <= 2000},
	'VACUUM ANALYZE');

is( value($db, q{SELECT count(*) FROM diffsync.engine_base WHERE engine = 'bidi'}),
	2000, 'setup: the bidirectional engine has a base of 2,000 keys');
my $oneway_diff = $json->decode(value($db, q{SELECT diffsync.diff_summary('src', 'dst')}));
is_deeply(
	[ @$oneway_diff{qw(create update delete)} ],
	[ 40000, 100000, 40000 ],
	'setup: the one-way pair has 40,000 creates, 100,000 updates and 40,000 deletes to make');

# fingerprint: a digest of each table a sync may write, and of the engines:
# the number of rows and the sum of a 64-bit hash of each row's text.
sub fingerprint
{
	my ($dbh) = @_;
	my %fp;
	for my $t (qw(src dst bsrc bdst diffsync.history diffsync.commit_log diffsync.engine_base
		diffsync.syncs diffsync.conflicts diffsync.engine))
	{
		$fp{$t} = value($dbh,
			"SELECT count(*) || ' ' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM $t t");
	}
	return \%fp;
}

# unchanged: one assertion per table that it is as in fingerprint $before.
sub unchanged
{
	my ($dbh, $before, $what) = @_;
	my $now = fingerprint($dbh);
	for my $t (sort keys %$before)
	{
		is($now->{$t}, $before->{$t}, "$what: $t is unchanged");
	}
	return;
}

# start_sync: a new session that runs $sql asynchronously, reporting its
# progress every 5,000 rows; returns (session, its backend pid, notices).
sub start_sync
{
	my ($sql, @settings) = @_;
	my $dbh = connect_db();
	my @notices;
	$dbh->do($_) for ('SET client_min_messages = notice', 'SET diffsync.progress_rows = 5000', @settings);
	my $pid = $dbh->{pg_pid};
	$dbh->do($sql, { pg_async => PG_ASYNC });
	return ($dbh, $pid, \@notices);
}

# poll: pg_ready on a session running an asynchronous query, collecting the
# NOTICEs libpq hands over meanwhile.
sub poll
{
	my ($dbh, $notices) = @_;
	local $SIG{__WARN__} = sub { push @$notices, $_[0] };
	return $dbh->pg_ready;
}

# wait_running: wait until the backend $pid has been active for $RUNNING
# seconds on a statement containing "sync_engine" and relation $rel has
# grown past $size bytes (rows written); returns its pg_stat_activity row,
# or undef after $WAIT seconds.
sub wait_running
{
	my ($mon, $bg, $notices, $pid, $rel, $size) = @_;
	my $deadline = time + $WAIT;
	while (time < $deadline)
	{
		poll($bg, $notices);
		my $row = $mon->selectrow_hashref(
			q{SELECT state, extract(epoch FROM clock_timestamp() - query_start) AS running,
			         backend_xid::text AS xid, pg_relation_size($2::regclass) AS size
			    FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%sync_engine%'},
			undef, $pid, $rel);
		return $row
		  if $row
		  && $row->{state} eq 'active'
		  && $row->{running} >= $RUNNING
		  && $row->{size} > $size;
		last if $row && $row->{state} ne 'active';
		sleep 0.05;
	}
	return undef;
}

# finish: wait (at most $WAIT seconds) for the asynchronous query of $bg to
# end; returns (seconds waited, SQLSTATE, error message).
sub finish
{
	my ($bg, $notices) = @_;
	my $t0 = time;
	while (time < $t0 + $WAIT)
	{
		last if eval { poll($bg, $notices) };
		last if $@;
		sleep 0.01;
	}
	my $waited = time - $t0;
	eval { $bg->pg_result };
	return ($waited, $bg->state, $bg->errstr // '');
}

# written_so_far: the largest "N written so far" of the progress reports.
sub written_so_far
{
	my ($notices) = @_;
	my $max = 0;
	for (@$notices)
	{
		$max = $1 if /(\d+) written so far/ && $1 > $max;
	}
	return $max;
}

# wait_for_restart: after a crash, wait until a new session can query;
# returns it, or undef after $WAIT seconds.
sub wait_for_restart
{
	my $deadline = time + $WAIT;
	while (time < $deadline)
	{
		my $dbh = eval {
			my $d = connect_db();
			$d->selectrow_array('SELECT 1');
			$d;
		};
		return $dbh if $dbh;
		sleep 0.2;
	}
	return undef;
}

# engine_lock_free: whether the engine's catalog row can be locked now
# (a sync that ended must not leave it locked).
sub engine_lock_free
{
	my ($dbh, $engine) = @_;
	$dbh->begin_work;
	my $ok = eval {
		$dbh->selectrow_array(
			'SELECT 1 FROM diffsync.engine WHERE name = $1 FOR UPDATE NOWAIT', undef, $engine);
		1;
	};
	$dbh->rollback;
	return $ok ? 1 : 0;
}

my $seq_before = value($db, 'SELECT last_value FROM diffsync.sync_id_seq');
my $before = fingerprint($db);
my $dst_size = value($db, q{SELECT pg_relation_size('dst')});

#
# (a) statement_timeout.
#
{
	my $dbh = connect_db();
	$dbh->do(q{SET statement_timeout = '1s'});
	my $t0 = time;
	my $ok = eval { $dbh->do(q{SELECT diffsync.sync_engine('oneway')}); 1 };
	my $took = time - $t0;
	ok(!$ok, '(a) the one-way sync under statement_timeout = 1s fails');
	is($dbh->state, '57014', '(a) ... with SQLSTATE 57014 (query_canceled)');
	like($dbh->errstr, qr/canceling statement due to statement timeout/,
		'(a) ... "canceling statement due to statement timeout"');
	cmp_ok($took, '<', $PROMPT, "(a) ... within $PROMPT seconds (took " . sprintf('%.2f', $took) . ' s)');
	cmp_ok(value($db, q{SELECT pg_relation_size('dst')}), '>', $dst_size,
		"(a) the sync had written rows before the timeout (dst's heap grew)");
	$dbh->do('RESET statement_timeout');
	is(value($dbh, 'SELECT 42'), 42, '(a) the session is usable afterwards');
	ok(engine_lock_free($db, 'oneway'), '(a) the engine row is not left locked');
	unchanged($db, $before, '(a) after the timeout');
	$dbh->disconnect;
}

#
# (b) pg_cancel_backend.
#
{
	$dst_size = value($db, q{SELECT pg_relation_size('dst')});
	my ($bg, $pid, $notices) = start_sync(q{SELECT diffsync.sync_engine('oneway')});
	my $row = wait_running($db, $bg, $notices, $pid, 'dst', $dst_size);
	ok($row, "(b) the sync is active, has run $RUNNING s and has written rows into dst")
	  or diag("notices: @$notices");
	is(value($db, 'SELECT pg_cancel_backend($1)', $pid), 1, '(b) pg_cancel_backend returns true');
	my ($waited, $state, $err) = finish($bg, $notices);
	is($state, '57014', '(b) the sync fails with SQLSTATE 57014');
	like($err, qr/canceling statement due to user request/, '(b) ... "canceling statement due to user request"');
	cmp_ok($waited, '<', $PROMPT, "(b) ... within $PROMPT seconds (took " . sprintf('%.2f', $waited) . ' s)');
	is(value($bg, 'SELECT 42'), 42, '(b) the session is usable afterwards');
	ok(engine_lock_free($db, 'oneway'), '(b) the engine row is not left locked');
	unchanged($db, $before, '(b) after the cancel');
	$bg->disconnect;
}

# crash: SIGKILL the backend running $sql once it has run for a while and
# written into $rel; wait for the server to recover.  Returns (a new
# session, the killed backend's xid).
sub crash
{
	my ($label, $sql, $rel) = @_;
	my $size = value($db, 'SELECT pg_relation_size($1::regclass)', $rel);
	my ($bg, $pid, $notices) = start_sync($sql);
	my $row = wait_running($db, $bg, $notices, $pid, $rel, $size) // {};
	ok(%$row, "$label the sync is active, has run $RUNNING s and has written rows into $rel")
	  or diag("notices: @$notices");
	cmp_ok(written_so_far($notices), '>', 0, "$label ... and its progress reports count written rows")
	  or diag("notices: @$notices");
	ok(defined $row->{xid}, "$label ... in a transaction with an xid (" . ($row->{xid} // "none") . ")");
	my $offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$label SIGKILL sent to backend $pid");
	eval { finish($bg, $notices) };
	eval { $bg->disconnect };
	eval { $db->disconnect };

	my $dbh = wait_for_restart();
	ok($dbh, "$label the server accepts queries again within $WAIT s")
	  or die "the server did not come back after the crash";
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/server process \(PID $pid\) was terminated by signal 9/,
		"$label the postmaster saw the backend die of signal 9");
	like($log, qr/all server processes terminated; reinitializing/, "$label ... and reinitialized");
	like($log, qr/database system was not properly shut down; automatic recovery in progress/,
		"$label ... and ran crash recovery");
	return ($dbh, $row->{xid});
}

# killed_left_nothing: assertions that transaction $xid was aborted and
# left no history, commit log or sync record.
sub killed_left_nothing
{
	my ($dbh, $label, $xid) = @_;
	is(value($dbh, 'SELECT pg_xact_status($1::xid8)', $xid),
		'aborted', "$label the killed sync's transaction $xid is aborted");
	is(value($dbh, 'SELECT count(*) FROM diffsync.history WHERE xid = $1::xid8', $xid),
		0, "$label no version recorded by the killed transaction");
	is(value($dbh, 'SELECT count(*) FROM diffsync.commit_log WHERE xid = $1::xid8', $xid),
		0, "$label no commit_log entry of the killed transaction");
	is(value($dbh, 'SELECT count(*) FROM diffsync.syncs WHERE sync_id > $1', $seq_before),
		0, "$label no sync row with an id drawn since the setup (the killed sync's)");
	is(value($dbh, 'SELECT count(*) FROM diffsync.history WHERE sync_id > $1', $seq_before),
		0, "$label no version carries such a sync id");
	return;
}

# history_consistent: for the keys of $adapter in @$ids, the kind of their
# newest version and whether history() rebuilds the current row, as
# "id:action:ok" (action "none" when the key has no version).
sub history_consistent
{
	my ($dbh, $adapter, $ids) = @_;
	return value(
		$dbh, q{
		SELECT string_agg(k.id || ':' || coalesce(h.action, 'none') || ':'
		                   || (h.state IS NOT DISTINCT FROM l.row), ' ' ORDER BY k.id)
		  FROM unnest($2::int[]) AS k(id)
		  LEFT JOIN LATERAL (SELECT key || attrs AS row FROM diffsync.load($1)
		                      WHERE key = jsonb_build_object('id', k.id)) l ON true
		  LEFT JOIN LATERAL (SELECT x.action, x.state
		                       FROM diffsync.history($1, jsonb_build_object('id', k.id)) x
		                      ORDER BY x.version DESC LIMIT 1) h ON true},
		$adapter, '{' . join(',', @$ids) . '}');
}

#
# (c) SIGKILL during the one-way sync.
#
my $xid;
($db, $xid) = crash('(c)', q{SELECT diffsync.sync_engine('oneway')}, 'dst');
unchanged($db, $before, '(c) after the crash');
killed_left_nothing($db, '(c)', $xid);
ok(engine_lock_free($db, 'oneway'), '(c) the engine row is not locked');

#
# (d) The next one-way sync converges.
#
my $res = $json->decode(value($db, q{SELECT diffsync.sync_engine('oneway')}));
ok($res->{success}, '(d) the next one-way sync succeeds');
cmp_ok($res->{sync_id}, '>', $seq_before, '(d) ... with a new sync id');
is_deeply(
	$res->{summary}{target},
	{ create => 40000, update => 100000, delete => 40000 },
	'(d) ... and writes exactly the differences into the target');
is_deeply(
	$json->decode(value($db, q{SELECT diffsync.diff_summary('src', 'dst')})),
	{ create => 0, update => 0, delete => 0, skip => 0, 'no-change' => 200000 },
	'(d) afterwards the pair does not differ');
is(value($db, 'SELECT count(*) FROM diffsync.history WHERE sync_id = $1', $res->{sync_id}),
	180000, '(d) the history holds one version per written row');
is($res->{target_version}{versions}, 180000, '(d) ... as the result says');
is(value($db, 'SELECT count(*) FROM diffsync.syncs WHERE sync_id = $1', $res->{sync_id}),
	1, '(d) the sync is recorded in diffsync.syncs');
isnt(value($db,
		q{SELECT c.commit_seq FROM diffsync.commit_log c JOIN diffsync.history h USING (xid)
		   WHERE h.sync_id = $1 LIMIT 1}, $res->{sync_id}),
	undef, '(d) its transaction has a commit sequence number');
# sampled keys: 7, 4007, ... (creates up to 40000, updates up to 140000,
# unchanged up to 200000, deletes up to 240000)
my @sample = map { 7 + 4000 * $_ } 0 .. 59;
my $expect = join ' ', map {
	    $_ <= 40000 ? "$_:create:true"
	  : $_ <= 140000 ? "$_:update:true"
	  : $_ <= 200000 ? "$_:none:false"
	  : "$_:delete:true"
} @sample;
is(history_consistent($db, 'dst', \@sample), $expect,
	'(d) for 60 sampled keys the newest version is a create/update/delete rebuilding the current row (none for unchanged keys)');

#
# (e) SIGKILL during the bidirectional sync.
#
$seq_before = value($db, 'SELECT last_value FROM diffsync.sync_id_seq');
$before = fingerprint($db);
($db, $xid) = crash('(e)', q{SELECT diffsync.sync_engine('bidi')}, 'bdst');
unchanged($db, $before, '(e) after the crash');
killed_left_nothing($db, '(e)', $xid);
ok(engine_lock_free($db, 'bidi'), '(e) the engine row is not locked');

#
# (f) The next bidirectional sync converges.
#
$res = $json->decode(value($db, q{SELECT diffsync.sync_engine('bidi')}));
ok($res->{success}, '(f) the next bidirectional sync succeeds');
is_deeply(
	[ $res->{summary}{source}, $res->{summary}{target} ],
	[
		{ create => 40000, update => 900, delete => 100 },
		{ create => 60000, update => 1000, delete => 0 }
	],
	'(f) ... creating and updating each side, deleting what the target deleted');
is_deeply(
	$json->decode(value($db, q{SELECT diffsync.diff_summary('bsrc', 'bdst')})),
	{ create => 0, update => 0, delete => 0, skip => 0, 'no-change' => 101900 },
	'(f) afterwards the pair does not differ');
is(value($db, q{SELECT count(*) FROM diffsync.engine_base WHERE engine = 'bidi'}),
	101900, '(f) the base has every key');
is( value($db, 'SELECT count(*) FROM diffsync.history WHERE sync_id = $1', $res->{sync_id}),
	$res->{source_version}{versions} + $res->{target_version}{versions},
	'(f) the history holds the versions the result reports');
is($res->{source_version}{versions} + $res->{target_version}{versions},
	102000, '(f) ... one per written row');
# sampled keys: 7 (changed in bsrc), 1007 (changed in bdst), 1957 (deleted
# from bdst), then new keys of bsrc (up to 62000) and of bdst.  The first
# sync created 1..2000 in bdst, so those have a version there; the user's
# own changes (no trigger attached) are not versions.
@sample = (7, 1007, 1957, map { 2007 + 1000 * $_ } 0 .. 99);
is( history_consistent($db, 'bsrc', \@sample),
	join(' ', map {
		    $_ <= 1000 ? "$_:none:false"
		  : $_ <= 1900 ? "$_:update:true"
		  : $_ <= 2000 ? "$_:delete:true"
		  : $_ <= 62000 ? "$_:none:false"
		  : "$_:create:true"
	} @sample),
	'(f) source side: the sampled keys the sync wrote have a newest version rebuilding the current row');
is( history_consistent($db, 'bdst', \@sample),
	join(' ', map {
		    $_ <= 1000 ? "$_:update:true"
		  : $_ <= 2000 ? "$_:create:false"
		  : $_ <= 62000 ? "$_:create:true"
		  : "$_:none:false"
	} @sample),
	'(f) target side: likewise (keys changed by the user keep the first sync\'s version)');

#
# (g) continue_on_failure: a cancel is not the failure of a row.  The
# target has a row trigger of its own (an audit trigger, say) that makes
# writing the slow part, so that the interrupt arrives while a batch is
# being written.
#
$db->do($_) for (
	q{CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS
	  $$BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END$$},
	q{CREATE TRIGGER audit BEFORE UPDATE ON dst FOR EACH ROW EXECUTE FUNCTION audit()});
for my $how ('statement_timeout', 'pg_cancel_backend')
{
	$db->do(q{UPDATE src SET qty = qty + 1 WHERE id <= 2000});
	$before = fingerprint($db);
	$dst_size = value($db, q{SELECT pg_relation_size('dst')});
	my $sql = q{SELECT diffsync.sync_engine('oneway', '{"continue_on_failure": true}')};
	my ($bg, $pid, $notices) =
	  start_sync($sql, $how eq 'statement_timeout' ? (q{SET statement_timeout = '1s'}) : ());
	# the statement_timeout fires 1 s after the start; the cancel comes once
	# the sync is writing, and each row takes about a millisecond
	my $bound = 3.5;
	if ($how eq 'pg_cancel_backend')
	{
		ok(wait_running($db, $bg, $notices, $pid, 'dst', $dst_size),
			"(g) $how: the sync with continue_on_failure is active and has written rows into dst");
		value($db, 'SELECT pg_cancel_backend($1)', $pid);
		$bound = 2.5;
	}
	my ($waited, $state, $err) = finish($bg, $notices);
	is($state, '57014', "(g) $how: the sync with continue_on_failure fails with SQLSTATE 57014")
	  or diag('it returned: '
		  . substr(value($db, 'SELECT result::text FROM diffsync.syncs ORDER BY sync_id DESC LIMIT 1') // '', 0, 600));
	cmp_ok($waited, '<', $bound,
		"(g) $how: ... promptly (took " . sprintf('%.2f', $waited) . ' s)');
	my $now = fingerprint($db);
	my @t = qw(dst diffsync.history diffsync.commit_log diffsync.syncs);
	is_deeply([ @$now{@t} ], [ @$before{@t} ],
		"(g) $how: dst, history, commit_log and syncs are unchanged");
	$bg->disconnect;
}

$db->disconnect;
$node->stop;
done_testing();
