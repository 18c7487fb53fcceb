#!/usr/bin/perl
# Signs the message read on standard input (CRLF lines) with Debian's
# Mail::DKIM, a DKIM signer independent of sesgate, and prints the
# DKIM-Signature field it made, CRLF-terminated, for the integration
# tests to put on top of the message.
#
#   mail_dkim_sign.pl KEYFILE DOMAIN SELECTOR ALGORITHM METHOD \
#       [TIMESTAMP EXPIRATION]
#
# KEYFILE is an RSA private key in PEM (PKCS#1 or PKCS#8), ALGORITHM
# rsa-sha256, METHOD a c= value such as relaxed/relaxed; TIMESTAMP and
# EXPIRATION, in seconds since the epoch, set t= and x= (RFC 6376
# section 3.5), so that a test can make a signature that has expired.
use strict;
use warnings;

use Crypt::OpenSSL::RSA;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::Signer;

die "usage: $0 KEYFILE DOMAIN SELECTOR ALGORITHM METHOD"
  . " [TIMESTAMP EXPIRATION]\n"
  unless @ARGV == 5 || @ARGV == 7;
my ( $keyfile, $domain, $selector, $algorithm, $method, $t, $x ) = @ARGV;

# Mail::DKIM::PrivateKey->load(File => ...) wraps whatever it reads as
# PKCS#1; openssl genpkey writes PKCS#8, so the key is loaded here and
# handed over already parsed.
open my $fh, '<', $keyfile or die "$keyfile: $!\n";
my $pem = do { local $/; <$fh> };
close $fh;
my $rsa = Crypt::OpenSSL::RSA->new_private_key($pem);
my $key = Mail::DKIM::PrivateKey->load( Cork => $rsa );

my $signer = Mail::DKIM::Signer->new(
    Algorithm => $algorithm,
    Method    => $method,
    Domain    => $domain,
    Selector  => $selector,
    Key       => $key,
    ( defined $t ? ( Timestamp => $t, Expiration => $x ) : () ),
);

binmode STDIN;
binmode STDOUT;
my $message = do { local $/; <STDIN> };
$signer->PRINT($message);
$signer->CLOSE;

my $sig = $signer->signature or die "Mail::DKIM made no signature\n";
my $field = $sig->as_string;
$field =~ s/\015?\012/\015\012/g;
print $field, "\015\012";
