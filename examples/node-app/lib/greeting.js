'use strict';
exports.greeting = () => 'Hello from skiff!';
