#!/usr/bin/perl
# gen_git.pl COMMITS FILES > stream
#
# Writes a `git fast-import` stream: COMMITS commits over about FILES files
# in nested directories, with a side branch merged back now and then, tags
# every 50 commits, added, deleted and renamed files.  Fully deterministic
# (fixed names and dates, own random generator), so the commit ids are the
# same whichever malloc git runs with.  Used by test/preload/run.sh.
use strict;
use warnings FATAL => 'all';

die "usage: $0 COMMITS FILES\n" unless @ARGV == 2;
my ($commits, $files) = @ARGV;
my $x = 42;
sub rnd { my $m = shift; $x = ($x * 1103515245 + 12345) % 2147483648; return int($x / 65536) % $m; }
my @words = qw(alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi
               omicron pi rho sigma tau upsilon phi chi psi omega malloc free arena slab
               page span chunk bin cache thread heap block size class);
sub line { join(" ", map { $words[rnd(scalar @words)] } 1 .. 3 + rnd(10)) . "\n" }
my %content;   # path => array of lines
my @paths;
sub newpath { my $i = shift; sprintf("d%02d/s%02d/f%05d.%s", $i % 37, $i % 11, $i, (qw(c h txt md))[$i % 4]) }
my $t = 1500000000;
my $mark = 0;
my %branch_head;
sub data { my $s = shift; return "data " . length($s) . "\n" . $s . "\n"; }
sub emit_commit {
    my ($branch, $msg, $changes, $merge) = @_;
    $mark++;
    $t += 3600 + rnd(3600);
    print "commit refs/heads/$branch\nmark :$mark\n";
    print "author A U Thor <author\@example.com> $t +0000\n";
    print "committer C O Mitter <committer\@example.com> $t +0000\n";
    print data($msg);
    print "from :$branch_head{$branch}\n" if $branch_head{$branch};
    print "merge :$merge\n" if $merge;
    print $changes;
    $branch_head{$branch} = $mark;
}
sub file_change {
    my $p = shift;
    return "M 100644 inline $p\n" . data(join("", @{ $content{$p} }));
}
# initial commit with all files
my $ch = "";
for my $i (1 .. $files) {
    my $p = newpath($i);
    push @paths, $p;
    $content{$p} = [ map { line() } 1 .. 5 + rnd(60) ];
    $ch .= file_change($p);
}
emit_commit("main", "initial import\n", $ch);
my $next = $files + 1;
for my $c (2 .. $commits) {
    my $branch = ($c % 10 >= 7) ? "side" : "main";
    $branch_head{side} //= $branch_head{main};
    $ch = "";
    my %touched;
    for (1 .. 1 + rnd(25)) {
        my $p = $paths[rnd(scalar @paths)];
        next if $touched{$p}++;
        my $lines = $content{$p};
        for (1 .. 1 + rnd(5)) {
            my $op = rnd(3);
            my $at = rnd(scalar(@$lines) + 1);
            if ($op == 0 && @$lines > 2) { splice(@$lines, $at % @$lines, 1); }
            elsif ($op == 1 && @$lines) { $lines->[$at % @$lines] = line(); }
            else { splice(@$lines, $at, 0, line(), line()); }
        }
        $ch .= file_change($p);
    }
    if (rnd(4) == 0) {          # add files
        for (1 .. 1 + rnd(8)) {
            my $p = newpath($next++);
            push @paths, $p;
            $content{$p} = [ map { line() } 1 .. 3 + rnd(40) ];
            $ch .= file_change($p);
        }
    }
    if (rnd(8) == 0 && @paths > 10) {   # delete one
        my $p = $paths[rnd(scalar @paths)];
        unless ($touched{$p}++) {
            @paths = grep { $_ ne $p } @paths;
            delete $content{$p};
            $ch .= "D $p\n";
        }
    }
    if (rnd(8) == 0 && @paths > 10) {   # rename one
        my $i = rnd(scalar @paths);
        my $p = $paths[$i];
        unless ($touched{$p}++) {
            my $q = newpath($next++);
            $paths[$i] = $q;
            $content{$q} = delete $content{$p};
            $ch .= "R $p $q\n";
        }
    }
    my $merge;
    if ($branch eq "main" && $c % 10 == 0 && $branch_head{side} != $branch_head{main}) {
        $merge = $branch_head{side};
    }
    emit_commit($branch, "commit $c on $branch\n\n" . line(), $ch, $merge);
    if ($c % 50 == 0) {
        print "tag v$c\nfrom :$mark\ntagger T Agger <tagger\@example.com> $t +0000\n" . data("release $c\n");
    }
}
print "reset refs/heads/main\nfrom :$branch_head{main}\n";
