// Boost.Asio, compiled once for the whole build tree.
#include <boost/asio/impl/src.hpp>
