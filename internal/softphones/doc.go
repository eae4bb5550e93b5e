// Package softphones holds the tests that put real softphones, the ones a
// team would install, in front of a real `teamline serve`: Debian's
// baresip (package baresip-core) and Linphone's console client linphonec
// (package linphone-cli). Each phone registers with digest authentication,
// auto-answers a call a carrier (SIPp) sends through a trunk, and calls a
// number that leaves through another trunk (SIPp answering); the tests
// check what a user would see: the call records, the recording with the
// caller and the agent audible on their own channels, the carrier's tone in
// what the phone received, and the caller ID the carrier was given.
//
// The package has no code of its own. The README's "Phones: a lab recipe"
// gives the same phone settings for people setting up a phone by hand.
package softphones
