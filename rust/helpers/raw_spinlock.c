// SPDX-License-Identifier: GPL-2.0

#include <linux/spinlock.h>

__rust_helper void rust_helper_raw_spin_lock_init_key(raw_spinlock_t *lock,
						      const char *name,
						      struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(lock, name, key, LD_WAIT_SPIN);
#else
	raw_spin_lock_init(lock);
#endif
}

__rust_helper void rust_helper_raw_spin_lock_irq_disable(raw_spinlock_t *lock)
{
	raw_spin_lock_irq_disable(lock);
}

__rust_helper void rust_helper_raw_spin_unlock_irq_enable(raw_spinlock_t *lock)
{
	raw_spin_unlock_irq_enable(lock);
}

__rust_helper bool rust_helper_raw_spin_trylock_irq_disable(raw_spinlock_t *lock)
{
	return raw_spin_trylock_irq_disable(lock);
}

__rust_helper void rust_helper_raw_spin_lock(raw_spinlock_t *lock)
{
	raw_spin_lock(lock);
}

__rust_helper void rust_helper_raw_spin_unlock(raw_spinlock_t *lock)
{
	raw_spin_unlock(lock);
}

__rust_helper bool rust_helper_raw_spin_trylock(raw_spinlock_t *lock)
{
	return raw_spin_trylock(lock);
}

__rust_helper void rust_helper_raw_spin_assert_is_held(raw_spinlock_t *lock)
{
	lockdep_assert_held(lock);
}
