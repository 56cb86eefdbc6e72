// SPDX-License-Identifier: GPL-2.0

/*
 * Helpers for kernel::net::genl: generic netlink request and dump operations.
 */

#include <linux/skbuff.h>
#include <net/genetlink.h>

#ifdef CONFIG_NET

__rust_helper int rust_helper_genlmsg_reply(struct sk_buff *skb,
					    struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

__rust_helper int rust_helper_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

#endif
