// Package router decides who gets a call: given the number dialled and the
// caller, it names the user whose phones ring, the number the call is
// forwarded to, or why nobody takes it. It does no I/O of its own beyond the
// directory lookups it is given, and knows nothing of SIP or media, so the
// same decisions serve calls and (next) texts, and can be explained.
//
// It implements the inbound rules R-IN-1 (a personal number rings its
// owner), R-IN-2 (a role number rings the agent the calling lead is assigned
// to for that role) and R-IN-3 (an unknown caller becomes a lead routed by
// the lead-routing rules, R-RULE: criteria, windows, weighted rotation kept
// in the database, auto-assign, claim and instant call), else the catch-all
// number and the admin inbox; every decision carries its trace (R-RULE-9).
package router
