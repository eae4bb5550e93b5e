// Package router decides who gets a call: given the number dialled and the
// caller, it names the user whose phones ring, the number the call is
// forwarded to, or why nobody takes it. It does no I/O of its own beyond the
// directory lookups it is given, and knows nothing of SIP or media, so the
// same decisions serve calls and (later) texts, and can be explained.
//
// This first router implements the inbound rules R-IN-1 (a personal number
// rings its owner) and R-IN-2 (a role number rings the agent the calling lead
// is assigned to for that role); every other call goes to the catch-all
// number when one exists. Lead-routing rules (R-RULE) come later behind the
// same Router interface.
package router
