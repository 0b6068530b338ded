# 001_notify_listen.pl -- diffsync's NOTIFY events as a real LISTEN consumer
# sees them, and how a consumer that was away catches up.
#
# A node of its own (track_commit_timestamp = on, for last_update_wins), two
# tables whose columns are named differently, an adapter on each, a
# bidirectional engine attached live.  A second connection (DBD::Pg) LISTENs
# on channel "diffsync" and polls pg_notifies; every wait is bounded, so a
# missing event fails the test instead of hanging it.
#
#  (a) events arrive only after COMMIT, in commit order across concurrent
#      writers, as valid JSON under 8000 bytes;
#  (b) a 1 MB jsonb attribute changed live gives a small event (a small key
#      stays, a huge key is dropped with "truncated": true); sync_engine
#      gives one "synchronized" event with its summary;
#  (c) a rolled-back sync or live change sends nothing;
#  (d) a consumer that was disconnected catches up with changes_since() and
#      gets exactly the changes it missed, in commit order, with the
#      change_ids the events carried.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DBI;
use DBD::Pg;
use JSON::PP;
use Time::HiRes qw(sleep time);

# Seconds to wait for an expected event before giving up.
my $WAIT = 10;
# Seconds of silence taken as "nothing was delivered".
my $QUIET = 1.5;
# Seconds to keep listening after the expected events, to catch extra ones.
my $GRACE = 0.5;
# The contract's bound on a payload's size.
my $MAX_PAYLOAD = 8000;

my $json = JSON::PP->new->canonical;

my $node = PostgreSQL::Test::Cluster->new('notify_listen');
$node->init;
$node->append_conf('postgresql.conf', "track_commit_timestamp = on\n");
$node->start;

# connect_db: a new DBD::Pg session on the node, autocommit on.
sub connect_db
{
	my $dbh = DBI->connect(
		'dbi:Pg:dbname=postgres;host=' . $node->host . ';port=' . $node->port,
		'', '',
		{ AutoCommit => 1, RaiseError => 1, PrintError => 0 });
	$dbh->do('SET client_min_messages = warning');
	return $dbh;
}

# listener: a new session listening on channel "diffsync".
sub listener
{
	my $dbh = connect_db();
	$dbh->do('LISTEN diffsync');
	return $dbh;
}

# drain: read the notifications already received by $dbh into @$got; each
# becomes { channel, payload, bytes, json } (json undef if not valid JSON).
sub drain
{
	my ($dbh, $got) = @_;
	while (my $n = $dbh->pg_notifies)
	{
		my ($channel, undef, $payload) = @$n;
		my $raw = $payload;
		utf8::encode($raw) if utf8::is_utf8($raw);
		my $decoded = eval { JSON::PP->new->utf8->decode($raw) };
		push @$got,
		  {
			channel => $channel,
			payload => $payload,
			bytes => length($raw),
			json => $decoded
		  };
	}
	return;
}

# collect: the events $dbh receives until $n have arrived (at most $WAIT
# seconds), plus any that follow within $GRACE seconds.
sub collect
{
	my ($dbh, $n) = @_;
	my @got;
	my $deadline = time + $WAIT;
	while (1)
	{
		drain($dbh, \@got);
		last if @got >= $n || time >= $deadline;
		sleep 0.02;
	}
	my $grace = time + $GRACE;
	while (time < $grace)
	{
		sleep 0.02;
		drain($dbh, \@got);
	}
	return @got;
}

# collect_quiet: the events $dbh receives within $QUIET seconds.
sub collect_quiet
{
	my ($dbh) = @_;
	my @got;
	my $deadline = time + $QUIET;
	while (time < $deadline)
	{
		drain($dbh, \@got);
		sleep 0.02;
	}
	drain($dbh, \@got);
	return @got;
}

# events_ok: one assertion that every event came on channel "diffsync" as
# a JSON object of fewer than $MAX_PAYLOAD bytes.
sub events_ok
{
	my ($events, $name) = @_;
	my @bad = grep {
		     $_->{channel} ne 'diffsync'
		  || ref($_->{json}) ne 'HASH'
		  || $_->{bytes} >= $MAX_PAYLOAD
	} @$events;
	ok(@$events > 0 && !@bad,
		"$name: valid JSON objects under $MAX_PAYLOAD bytes on channel diffsync")
	  or diag(
		join("\n",
			map { "channel $_->{channel}, $_->{bytes} bytes: " . substr($_->{payload}, 0, 300) }
			  @bad));
	return;
}

# fields: the given keys of an event's JSON object (missing ones as undef).
sub fields
{
	my ($event, @keys) = @_;
	return { map { $_ => $event->{json}{$_} } @keys };
}

# value: the first column of the first row of a query.
sub value
{
	my ($dbh, $sql, @bind) = @_;
	my ($v) = $dbh->selectrow_array($sql, undef, @bind);
	return $v;
}

# change_id_of: the change_id of a version recorded for a key of an adapter.
sub change_id_of
{
	my ($dbh, $adapter, $id, $version) = @_;
	return value(
		$dbh,
		'SELECT change_id FROM diffsync.history WHERE adapter = $1 AND key = jsonb_build_object(\'id\', $2::text) AND version = $3',
		$adapter, $id, $version);
}

# begin_xact: start a transaction on $dbh; returns its xid (text).
sub begin_xact
{
	my ($dbh) = @_;
	$dbh->begin_work;
	return value($dbh, 'SELECT pg_current_xact_id()::text');
}

# xact: run statements in one committed transaction; returns its xid.
sub xact
{
	my ($dbh, @sql) = @_;
	my $xid = begin_xact($dbh);
	$dbh->do($_) for @sql;
	$dbh->commit;
	return $xid;
}

# history_ids: the change_ids a transaction recorded, in change_id order.
sub history_ids
{
	my ($dbh, $xid) = @_;
	return @{
		$dbh->selectcol_arrayref(
			'SELECT change_id FROM diffsync.history WHERE xid = $1::xid8 ORDER BY change_id',
			undef, $xid)
	};
}

# changes_since: the rows of diffsync.changes_since($id), as returned.
sub changes_since
{
	my ($dbh, $id) = @_;
	return @{
		$dbh->selectall_arrayref(
			'SELECT change_id, commit_seq, adapter, key::text AS key, action, sync_id FROM diffsync.changes_since($1)',
			{ Slice => {} }, $id)
	};
}

#
# Setup: two tables, differently named columns, adapters, an engine.
#
my $db = connect_db();
$db->do($_) for (
	'CREATE EXTENSION diffsync',
	q{CREATE TABLE src_items (id text PRIMARY KEY, name text NOT NULL,
	                          doc jsonb NOT NULL DEFAULT '{}')},
	q{CREATE TABLE dst_things (thing_id text PRIMARY KEY, title text NOT NULL,
	                           body jsonb NOT NULL DEFAULT '{}')},
	q{SELECT diffsync.create_adapter('src', 'src_items', '{id}')},
	q{SELECT diffsync.create_adapter('dst', 'dst_things', '{id}',
	      columns => '{"id": "thing_id", "name": "title", "doc": "body"}')},
	q{SELECT diffsync.create_engine('eng', 'src', 'dst', 'bidirectional', 'last_update_wins')},
	q{INSERT INTO src_items VALUES ('k0', 'zero')},
	q{SELECT diffsync.sync_engine('eng')},
	q{SELECT diffsync.attach('eng')});
is( value($db, q{SELECT title FROM dst_things WHERE thing_id = 'k0'}),
	'zero', 'setup: the first sync_engine copied k0 into dst_things');

my $listen = listener();
my $wa = connect_db();
my $wb = connect_db();
my @ev;

#
# (a) Delivery only after COMMIT; commit order across concurrent writers.
#
$wa->begin_work;
$wa->do(q{INSERT INTO src_items VALUES ('k1', 'one')});
is( value($wa, q{SELECT title FROM dst_things WHERE thing_id = 'k1'}),
	'one', '(a) the live trigger reconciled k1 inside the open transaction');
@ev = collect_quiet($listen);
is(scalar @ev, 0, '(a) no event is delivered while the writing transaction is open');
$wa->commit;
@ev = collect($listen, 1);
is(scalar @ev, 1, '(a) one event is delivered after COMMIT');
events_ok(\@ev, '(a) event of k1');
is_deeply(
	fields($ev[0], qw(event engine adapter model action key)),
	{
		event => 'changed',
		engine => 'eng',
		adapter => 'src',
		model => 'src',
		action => 'create',
		key => { id => 'k1' }
	},
	'(a) the event says what changed: a create of k1 through adapter src');
is($ev[0]{json}{change_id}, change_id_of($db, 'src', 'k1', 1),
	"(a) the event's change_id is k1's first version in diffsync.history");
my $k1_change = $ev[0]{json}{change_id};

# A writes first, B starts while A is open and commits first, then A.
$wa->begin_work;
$wa->do(q{INSERT INTO src_items VALUES ('k2', 'two')});
$wb->begin_work;
$wb->do(q{INSERT INTO src_items VALUES ('k3', 'three')});
@ev = collect_quiet($listen);
is(scalar @ev, 0, '(a) nothing is delivered while both writers are open');
$wb->commit;
$wa->commit;
@ev = collect($listen, 2);
is(scalar @ev, 2, '(a) two writers committed: two events');
events_ok(\@ev, '(a) events of k2, k3');
is_deeply([ map { $_->{json}{key}{id} } @ev ],
	[ 'k3', 'k2' ], '(a) events follow commit order: B (k3) committed first, then A (k2)');
cmp_ok($ev[1]{json}{change_id}, '<', $ev[0]{json}{change_id},
	'(a) A recorded its change first (lower change_id), so commit order is not change_id order');
is_deeply(
	[ map { $_->{change_id} } grep { $_->{adapter} eq 'src' } changes_since($db, $k1_change) ],
	[ map { $_->{json}{change_id} } @ev ],
	'(a) changes_since lists the two changes in the same (commit) order as the events');

#
# (b) A 1 MB attribute changed live; a huge key; a sync's one event.
#
$wa->do(
	q{UPDATE src_items
	     SET doc = (SELECT jsonb_build_object('blob', string_agg(md5(i::text), ''))
	                  FROM generate_series(1, 32768) i)
	   WHERE id = 'k1'});
cmp_ok(value($db, q{SELECT octet_length(doc::text) FROM src_items WHERE id = 'k1'}),
	'>', 1_000_000, '(b) k1 now has a jsonb attribute of more than 1 MB');
ok( value(
		$db,
		q{SELECT s.doc = d.body FROM src_items s JOIN dst_things d ON d.thing_id = s.id WHERE s.id = 'k1'}
	),
	'(b) the 1 MB document reached dst_things through the attached engine');
@ev = collect($listen, 1);
is(scalar @ev, 1, '(b) one event for the 1 MB update');
events_ok(\@ev, '(b) event of the 1 MB update');
is_deeply(
	fields($ev[0], qw(event adapter action key truncated)),
	{
		event => 'changed',
		adapter => 'src',
		action => 'update',
		key => { id => 'k1' },
		truncated => undef
	},
	'(b) the event of the 1 MB update is small and keeps its small key');
is($ev[0]{json}{change_id}, change_id_of($db, 'src', 'k1', 2),
	"(b) its change_id is k1's second version");

my $big_id = 'x' x 10000;
$wa->do('INSERT INTO src_items VALUES ($1, $2)', undef, $big_id, 'big key');
@ev = collect($listen, 1);
is(scalar @ev, 1, '(b) one event for a row with a 10000-character key');
events_ok(\@ev, '(b) event of the huge key');
is_deeply(
	fields($ev[0], qw(event adapter action truncated)),
	{
		event => 'changed',
		adapter => 'src',
		action => 'create',
		truncated => JSON::PP::true
	},
	'(b) a key that does not fit is dropped and the event says "truncated": true');
ok(!exists $ev[0]{json}{key}, '(b) the truncated event carries no (partial) key');
is($ev[0]{json}{change_id}, change_id_of($db, 'src', $big_id, 1),
	'(b) the truncated event still carries the change_id to fetch the key by');

# Drift on both sides with the triggers off: a row only in src_items and
# a title edited in dst_things.  Nothing is reconciled, nothing sent.
xact($wa, q{SET LOCAL session_replication_role = replica},
	q{INSERT INTO src_items VALUES ('k4', 'four')},
	q{UPDATE dst_things SET title = 'two (edited in dst)' WHERE thing_id = 'k2'});
@ev = collect_quiet($listen);
is(scalar @ev, 0, '(b) writes with the live triggers disabled send nothing');

my $res = $json->decode(value($wa, q{SELECT diffsync.sync_engine('eng')}));
@ev = collect($listen, 1);
is(scalar @ev, 1, '(b) sync_engine sends exactly one event (its own writes send none)');
events_ok(\@ev, '(b) event of sync_engine');
is_deeply(
	fields($ev[0], qw(event engine source target sync_id)),
	{
		event => 'synchronized',
		engine => 'eng',
		source => 'src',
		target => 'dst',
		sync_id => $res->{sync_id}
	},
	'(b) a "synchronized" event naming the engine, its adapters and the sync_id');
my @summary_keys = qw(create update delete conflicts queued failed);
is_deeply(
	$ev[0]{json}{summary},
	{ map { $_ => $res->{summary}{$_} } @summary_keys },
	"(b) the event's summary is the sync result's summary");
is_deeply(
	$ev[0]{json}{summary},
	{ create => 1, update => 1, delete => 0, conflicts => 0, queued => 0, failed => 0 },
	'(b) summary: k4 created in dst_things, k2 updated in src_items');
is($ev[0]{json}{last_change_id},
	value($db, 'SELECT max(change_id) FROM diffsync.history WHERE sync_id = $1', $res->{sync_id}),
	"(b) last_change_id is the sync's newest recorded version");

#
# (c) Rolled back: nothing is sent.
#
xact($wa, q{SET LOCAL session_replication_role = replica},
	q{UPDATE src_items SET name = 'three (edited in src)' WHERE id = 'k3'});
$wa->begin_work;
$res = $json->decode(value($wa, q{SELECT diffsync.sync_engine('eng')}));
is($res->{summary}{update}, 1, '(c) the sync that is rolled back did write (one update)');
$wa->rollback;
$wa->begin_work;
$wa->do(q{UPDATE src_items SET name = 'rolled back' WHERE id = 'k1'});
is( value($wa, q{SELECT title FROM dst_things WHERE thing_id = 'k1'}),
	'rolled back', '(c) the live change that is rolled back was reconciled in its transaction');
$wa->rollback;
@ev = collect_quiet($listen);
is(scalar @ev, 0, '(c) nothing arrives for a rolled-back sync and a rolled-back live change');

# A committed change now: had the rolled-back transactions sent anything, it
# would come before this one.
$wa->do(q{UPDATE src_items SET name = 'two (edited in src)' WHERE id = 'k2'});
@ev = collect($listen, 1);
is_deeply(
	[ map { fields($_, qw(event action key)) } @ev ],
	[ { event => 'changed', action => 'update', key => { id => 'k2' } } ],
	'(c) the next committed change is the only event that arrives');
is( value($db, q{SELECT title FROM dst_things WHERE thing_id = 'k3'}),
	'three', '(c) the rolled-back sync left dst_things as it was');

#
# (d) A consumer disconnected while changes committed catches up.
#
my $consumer = listener();
$wa->do(q{UPDATE src_items SET name = 'zero v2' WHERE id = 'k0'});
@ev = collect($consumer, 1);
is(scalar @ev, 1, '(d) the consumer receives events while connected');
collect($listen, 1);

# A writes, B commits (the consumer sees B's event last), then the consumer
# goes away and A commits: A's changes have lower change_ids than the last
# one the consumer saw, yet it missed them.
my $xa = begin_xact($wa);
$wa->do(q{INSERT INTO src_items VALUES ('k20', 'twenty')});
my $xb = xact($wb, q{INSERT INTO src_items VALUES ('k21', 'twenty-one')});
@ev = collect($consumer, 1);
is_deeply([ map { $_->{json}{key}{id} } @ev ],
	['k21'], "(d) the consumer's last event before it disconnects is B's (k21)");
my $last_seen = $ev[0]{json}{change_id};
$consumer->disconnect;

collect($listen, 1);    # B's event, which the consumer saw too
my @missed_xids;
$wa->commit;
push @missed_xids, $xa;
push @missed_xids,
  xact($wb, q{UPDATE dst_things SET title = 'twenty (edited in dst)' WHERE thing_id = 'k20'});
push @missed_xids, xact($wa, q{UPDATE src_items SET name = name || '!' WHERE id IN ('k1', 'k2')});
$wa->begin_work;
$wa->do(q{DELETE FROM src_items WHERE id = 'k0'});
$wa->rollback;
push @missed_xids, xact($wb, q{DELETE FROM src_items WHERE id = 'k21'});
my $xs = begin_xact($wa);
$res = $json->decode(value($wa, q{SELECT diffsync.sync_engine('eng')}));
$wa->commit;
push @missed_xids, $xs;

# What a consumer that stayed connected received: A, D (dst side), E (two
# rows), F (delete), the sync.
@ev = collect($listen, 6);
events_ok(\@ev, '(d) events while the consumer was away');
is_deeply(
	[ map { $_->{json}{event} } @ev ],
	[ ('changed') x 5, 'synchronized' ],
	'(d) a connected consumer received five "changed" events and one "synchronized"');
is_deeply([ map { $_->{json}{key}{id} // '' } @ev[ 0 .. 4 ] ],
	[qw(k20 k20 k1 k2 k21)], '(d) ... for k20 (src), k20 (dst), k1, k2, k21, in commit order');
is($ev[5]{json}{sync_id}, $res->{sync_id}, '(d) ... and the sync, last');

$consumer = listener();
my @caught = changes_since($consumer, $last_seen);
my @expected = map { history_ids($consumer, $_) } @missed_xids;
is_deeply([ map { $_->{change_id} } @caught ],
	\@expected,
	'(d) changes_since(last change_id seen) returns exactly the changes committed while away, in commit order');
cmp_ok($caught[0]{change_id}, '<', $last_seen,
	"(d) the first missed change (A's) has a lower change_id than the last one seen");
my %event_id = map { $_->{json}{change_id} => $_ } @ev[ 0 .. 4 ];
is_deeply(
	[ map { $_->{change_id} } grep { $event_id{ $_->{change_id} } } @caught ],
	[ map { $_->{json}{change_id} } @ev[ 0 .. 4 ] ],
	'(d) the change_ids the "changed" events carried are all among them, in the same order');
is_deeply(
	[
		map { [ $_->{adapter}, $json->decode($_->{key}), $_->{action} ] }
		  grep { $event_id{ $_->{change_id} } } @caught
	],
	[ map { [ $_->{json}{adapter}, $_->{json}{key}, $_->{json}{action} ] } @ev[ 0 .. 4 ] ],
	'(d) each of those changes has the adapter, key and action of its event');
is($ev[5]{json}{last_change_id},
	(map { $_->{change_id} } grep { ($_->{sync_id} // 0) == $res->{sync_id} } @caught)[-1],
	"(d) the sync's last_change_id is the last of its changes that changes_since returns");

# Back to following events: the next change is the one after the catch-up.
my $xn = xact($wa, q{UPDATE src_items SET name = 'zero v3' WHERE id = 'k0'});
@ev = collect($consumer, 1);
is(scalar @ev, 1, '(d) the reconnected consumer receives the next event');
is_deeply(
	[ map { $_->{change_id} } changes_since($consumer, $caught[-1]{change_id}) ],
	[ history_ids($consumer, $xn) ],
	'(d) after the catch-up, changes_since gives only the new transaction');
ok((grep { $_ == $ev[0]{json}{change_id} } history_ids($consumer, $xn)),
	"(d) the new event's change_id is one of the new transaction's changes");

$_->disconnect for ($db, $listen, $wa, $wb, $consumer);
$node->stop;
done_testing();
