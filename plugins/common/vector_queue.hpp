// A first-in-first-out queue in one vector: what std::deque does for the
// scorers' per-meter windows, without the ~600 bytes libstdc++'s deque
// allocates even when empty (sustained_load keeps 54 per meter).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace stream_smarts {

template <class T>
class vector_queue {
public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  const T& front() const { return items_[head_]; }
  const T& back() const { return items_.back(); }
  const T& operator[](std::size_t i) const { return items_[head_ + i]; }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

  template <class... Args>
  void emplace_back(Args&&... args) {
    items_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T item) { items_.push_back(std::move(item)); }
  /// Not on an empty queue.
  void pop_back() {
    items_.pop_back();
    if (empty()) clear();
  }
  /// Not on an empty queue. The space before the front is given back once it
  /// is half the vector, so each item is moved at most once on average.
  void pop_front() {
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

private:
  std::vector<T> items_;
  std::size_t head_ = 0;  // the front's index; those before it are popped
};

} // namespace stream_smarts
