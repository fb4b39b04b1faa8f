#!/usr/bin/perl
# workload.pl [N] - allocation-heavy perl workload for test/preload/run.sh.
#
# Builds, sorts, prunes and rebuilds large hashes and arrays, grows and cuts
# long strings, runs regexes and nested data structures, and prints one
# digest per part.  The output depends only on N (default 1000000), never on
# hash order or on the malloc perl runs with, so two runs must match.
use strict;
use warnings FATAL => 'all';
use Digest::MD5 qw(md5_hex);

my $n = shift // 1000000;
die "N must be at least 1000\n" if $n < 1000;
my $x = 12345;
sub rnd { $x = ($x * 1103515245 + 12345) % 2147483648; return $x; }

# 1. a big hash of strings, then sorted several ways
my %h;
for my $i (1 .. $n) {
    my $r = rnd();
    $h{sprintf("k%08x-%d", $r, $i % 977)} = join(",", $i, $r % 1000, "v" x ($i % 50));
}
my $md5 = Digest::MD5->new;
$md5->add($_, "=", $h{$_}, "\n") for sort keys %h;
my $d1 = $md5->hexdigest;
my @byval = sort { (split /,/, $h{$a})[1] <=> (split /,/, $h{$b})[1] or $a cmp $b }
            (sort keys %h)[0 .. ($n > 200000 ? 199999 : $n - 1)];
my $d2 = md5_hex(join("|", @byval));
# delete about half, re-add with longer values
for my $k (keys %h) { delete $h{$k} if $k =~ /[02468ace]-/; }
my @keep = sort keys %h;
$#keep = 9999 if @keep > 10000;
$h{$_ . "x"} = "w" x 100 for @keep;
my $d3 = md5_hex(join("|", map { "$_=$h{$_}" } sort keys %h));
my $count = scalar keys %h;
undef %h;

# 2. string building, substr, regexes, split/join, reverse
my $s = "";
for my $i (1 .. $n / 5) {
    $s .= chr(65 + $i % 26) x (1 + $i % 17);
    $s = substr($s, length($s) / 3) if length($s) > 2_000_000;
}
my @parts = split /(?<=Q)/, $s;
my $joined = join("-", reverse @parts);
(my $t = $joined) =~ s/([A-F])\1+/lc($1) x 2/ge;
my $d4 = md5_hex($t) . ":" . scalar(@parts) . ":" . length($t);

# 3. nested structures: hash of hashes of arrays
my %tree;
for my $i (1 .. $n) { $tree{$i % 1000}{$i % 97}[$i % 13] .= chr(97 + $i % 26); }
my $md = Digest::MD5->new;
for my $ka (sort { $a <=> $b } keys %tree) {
    for my $kb (sort { $a <=> $b } keys %{ $tree{$ka} }) {
        $md->add("$ka/$kb:", join(",", map { $_ // "" } @{ $tree{$ka}{$kb} }), "\n");
    }
}
my $d5 = $md->hexdigest;

# 4. numeric sort of a big array
my @nums = map { rnd() % 1000003 } 1 .. $n;
my @sorted = sort { $a <=> $b } @nums;
my $d6 = md5_hex(pack("N*", @sorted));

print "hash $d1\nbyval $d2\nrehash $d3 $count\nstring $d4\ntree $d5\nnums $d6\n";
